//! A small in-process browser for portal tests: a cookie jar, form posts that carry the
//! page's anti-forgery token like a real form would, and helpers to read pages. It drives the
//! very router `eligo serve` runs; the real-browser walk is in `e2e.rs`.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::harness::{NowUtc, TestApp};

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The first hidden `csrf` field's value.
    pub fn csrf(&self) -> Option<String> {
        self.input_value("csrf")
    }

    /// The `value` of the first `<input name="NAME" ... value="...">`.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\"");
        let at = self.body.find(&needle)?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = at + self.body[at..].find('>')?;
        let tag = &self.body[tag_start..tag_end];
        let v = tag.find("value=\"")? + 7;
        let end = tag[v..].find('"')?;
        Some(unescape(&tag[v..v + end]))
    }

    pub fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The `data-secret` of the enrolment page.
    pub fn attr(&self, attr: &str) -> Option<String> {
        let needle = format!("{attr}=\"");
        let at = self.body.find(&needle)? + needle.len();
        let end = self.body[at..].find('"')?;
        Some(unescape(&self.body[at..at + end]))
    }

    /// Asserts what every portal page must be: HTML with the strict CSP, nothing internal.
    pub fn assert_safe(&self) {
        if self.status.is_redirection() {
            return;
        }
        let ct = self.headers.get(header::CONTENT_TYPE).unwrap();
        if !ct.to_str().unwrap().starts_with("text/html") {
            return; // the stylesheet and the script
        }
        let csp = self.headers.get(header::CONTENT_SECURITY_POLICY).unwrap();
        assert!(csp.to_str().unwrap().contains("script-src 'self'"));
        for bad in [
            "panicked",
            "sqlx",
            "StoreError",
            "RUST_BACKTRACE",
            "stack backtrace",
        ] {
            assert!(!self.body.contains(bad), "page leaks {bad}: {}", self.body);
        }
        assert!(
            !self.body.contains(" style=\""),
            "inline style breaks the CSP"
        );
        assert!(
            !self.body.contains("<script>"),
            "inline script breaks the CSP"
        );
    }
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub struct Browser<'a> {
    pub t: &'a TestApp,
    pub cookies: BTreeMap<String, String>,
    /// The anti-forgery token of the last page that had a form.
    pub csrf: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(t: &'a TestApp) -> Self {
        Self {
            t,
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }

    async fn send(&mut self, req: Request<Body>) -> Page {
        // The one-click approval pages are mail-styled pages of their own, with their own CSP.
        let portal = !req.uri().path().starts_with("/approvals/");
        let resp = self.t.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        for set in headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let page = Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        if let Some(c) = page.csrf() {
            self.csrf = Some(c);
        }
        if portal {
            page.assert_safe();
        }
        page
    }

    fn request(&self, method: Method, path: &str) -> axum::http::request::Builder {
        let mut req = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(header::COOKIE, jar.join("; "));
        }
        req
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.request(Method::GET, path).body(Body::empty()).unwrap();
        self.send(req).await
    }

    /// Posts `fields` exactly as given (no token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let req = self
            .request(Method::POST, path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// Posts a form as the last page would: with its anti-forgery token.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self
            .csrf
            .clone()
            .expect("a page with a form was loaded first");
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Follows a redirect.
    pub async fn follow(&mut self, page: &Page) -> Page {
        let to = page.location().expect("a redirect").to_string();
        self.get(&to).await
    }

    /// Signs in through the sign-in form; returns the answer to the post.
    pub async fn sign_in(&mut self, upn: &str, password: &str, code: Option<&str>) -> Page {
        let form = self.get("/portal/sign-in").await;
        assert_eq!(form.status, StatusCode::OK);
        let mut fields = vec![("username", upn), ("password", password)];
        if let Some(c) = code {
            fields.push(("code", c));
        }
        self.submit("/portal/sign-in", &fields).await
    }

    /// Signs in (password only: the account has no authenticator yet), then enrols one from
    /// Security info, so the session has the fresh second factor administration and approvals
    /// need (threat-model rule 4). Returns the browser and the authenticator's secret.
    pub async fn signed_in_with_mfa(
        t: &'a TestApp,
        upn: &str,
        password: &str,
    ) -> (Browser<'a>, String) {
        let mut b = Browser::signed_in(t, upn, password).await;
        b.get("/portal/security").await;
        let page = b.submit("/portal/security/totp", &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let page = b.get("/portal/security/totp").await;
        let secret = page.attr("data-secret").expect("the secret");
        let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
        let done = b
            .submit("/portal/security/totp/verify", &[("code", &code)])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        (b, secret)
    }

    /// Signs in and asserts it worked.
    pub async fn signed_in(t: &'a TestApp, upn: &str, password: &str) -> Browser<'a> {
        let mut b = Browser::new(t);
        let page = b.sign_in(upn, password, None).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        b
    }
}
