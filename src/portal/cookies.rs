//! The portal's cookies: reading the `Cookie` header and writing `Set-Cookie` values with the
//! attributes a session needs (HttpOnly, SameSite=Lax, Secure and the `__Host-` prefix when
//! Eligo is reached over TLS, which `ELIGO_PUBLIC_URL` tells).

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use crate::app::App;

/// The session cookie's name: `__Host-` binds it to this host and path `/` when it is Secure.
pub fn session_name(app: &App) -> &'static str {
    if secure(app) {
        "__Host-eligo_session"
    } else {
        "eligo_session"
    }
}

/// The cookie that carries the anti-forgery secret of a sign-in form (no session yet).
pub const PRESESSION: &str = "eligo_presession";
/// A one-shot message for the next page after a redirect.
pub const FLASH: &str = "eligo_flash";

/// Is the portal reached over TLS (terminated by Eligo's proxy)? Then every cookie is Secure.
pub fn secure(app: &App) -> bool {
    app.config.public_url.starts_with("https://")
}

/// The value of cookie `name`, if the request carries it.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value; `max_age` None makes a browser-session cookie.
pub fn set(app: &App, name: &str, value: &str, max_age: Option<i64>) -> String {
    let mut out = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        out.push_str(&format!("; Max-Age={age}"));
    }
    if secure(app) {
        out.push_str("; Secure");
    }
    out
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear(app: &App, name: &str) -> String {
    set(app, name, "", Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn finds_a_cookie_among_several_headers_and_pairs() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; eligo_session=abc"));
        h.append(COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(get(&h, "eligo_session"), Some("abc"));
        assert_eq!(get(&h, "b"), Some("2"));
        assert_eq!(get(&h, "eligo"), None);
    }

    #[test]
    fn an_empty_cookie_counts_as_absent() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("eligo_session="));
        assert_eq!(get(&h, "eligo_session"), None);
    }
}
