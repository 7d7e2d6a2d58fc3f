/// mimalloc rather than glibc's malloc: many small short-lived allocations per request and per
/// index entry, where glibc's consolidation showed in every profile (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    eligo::cli::main()
}
