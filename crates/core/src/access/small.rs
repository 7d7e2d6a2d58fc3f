//! A vector that keeps its first `N` items inline: most principals are in one or two groups and
//! most `(role, holder)` pairs have one assignment, so a check reads them without following a
//! pointer to the heap (a cache miss saved per node walked).

use std::ops::Deref;

#[derive(Debug, Clone)]
pub(crate) enum SmallList<T: Copy + Default, const N: usize> {
    Inline { len: u8, items: [T; N] },
    Heap(Vec<T>),
}

impl<T: Copy + Default, const N: usize> Default for SmallList<T, N> {
    fn default() -> Self {
        SmallList::Inline {
            len: 0,
            items: [T::default(); N],
        }
    }
}

impl<T: Copy + Default, const N: usize> Deref for SmallList<T, N> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            SmallList::Inline { len, items } => &items[..usize::from(*len)],
            SmallList::Heap(v) => v,
        }
    }
}

impl<T: Copy + Default, const N: usize> SmallList<T, N> {
    pub(crate) fn push(&mut self, item: T) {
        match self {
            SmallList::Inline { len, items } if usize::from(*len) < N => {
                items[usize::from(*len)] = item;
                *len += 1;
            }
            SmallList::Inline { items, .. } => {
                let mut v = Vec::with_capacity(N * 2);
                v.extend_from_slice(items);
                v.push(item);
                *self = SmallList::Heap(v);
            }
            SmallList::Heap(v) => v.push(item),
        }
    }

    /// Removes item `i`, moving the last item into its place.
    pub(crate) fn swap_remove(&mut self, i: usize) -> T {
        match self {
            SmallList::Inline { len, items } => {
                let last = usize::from(*len) - 1;
                assert!(i <= last, "index in bounds");
                let item = items[i];
                items[i] = items[last];
                *len -= 1;
                item
            }
            SmallList::Heap(v) => v.swap_remove(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_then_heap() {
        let mut l: SmallList<u32, 2> = SmallList::default();
        assert!(l.is_empty());
        l.push(1);
        l.push(2);
        assert!(matches!(l, SmallList::Inline { len: 2, .. }));
        l.push(3);
        assert!(matches!(l, SmallList::Heap(_)));
        assert_eq!(&l[..], [1, 2, 3]);
        assert_eq!(l.swap_remove(0), 1);
        assert_eq!(&l[..], [3, 2]);
        assert_eq!(l.swap_remove(0), 3);
        assert_eq!(&l[..], [2]);
        assert_eq!(l.swap_remove(0), 2);
        assert!(l.is_empty());
        l.push(7);
        assert_eq!(&l[..], [7]);
    }
}
