//! Single sign-on with the real `eligo` binary and a real provider (npm oidc-provider): the
//! portal's code flow over HTTP, `eligo login --sso` by the loopback redirect, and the browser
//! walk in Chromium ("Sign in with ..." on the sign-in page).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::support::{Server, Spec, eligo, http};
use crate::harness::{BOOTSTRAP, temp_dir};
use crate::oidc::through_provider_to;

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// The provider, and a server that trusts it (its client secret in a file).
async fn setup(dir: &std::path::Path) -> Option<(eligo_testkit::oidc::OidcProvider, Server)> {
    // Loopback redirect URIs: any port (RFC 8252), so the server's and the CLI's ports need not
    // be known before the provider starts.
    let idp = eligo_testkit::oidc::oidc_provider(
        &provider_dir(),
        &[
            "http://127.0.0.1:1/auth/oidc/callback".into(),
            "http://localhost:1/auth/oidc/callback".into(),
            "http://127.0.0.1:1/callback".into(),
        ],
    )
    .await?;
    let secret = dir.join("oidc-secret");
    std::fs::write(&secret, format!("{}\n", idp.client_secret())).unwrap();
    let spec = Spec::sqlite(dir)
        .setting("ELIGO_PUBLIC_URL", "http://127.0.0.1:{port}")
        .setting("ELIGO_OIDC_ISSUER", &idp.issuer())
        .setting("ELIGO_OIDC_CLIENT_ID", idp.client_id())
        .setting(
            "ELIGO_OIDC_CLIENT_SECRET_FILE",
            &secret.display().to_string(),
        )
        .setting("ELIGO_OIDC_DISPLAY_NAME", "Test IdP")
        .setting("ELIGO_OIDC_SCOPES", "openid email profile");
    let server = Server::start(&spec).await;
    let api = server.client();
    let (status, body) = api
        .post(
            "/v1/users",
            BOOTSTRAP,
            json!({ "userPrincipalName": "alice@contoso.example", "displayName": "Alice" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    idp.set_login(
        &json!({
            "account": "alice-sub",
            "claims": { "email": "alice@contoso.example", "email_verified": true, "name": "Alice" },
            "amr": ["pwd", "hwk"], "acr": "c1",
        })
        .to_string(),
    )
    .await;
    Some((idp, server))
}

#[tokio::test]
async fn the_portal_signs_in_over_http_and_the_cli_by_loopback_redirect() {
    let dir = temp_dir("sso");
    let Some((idp, server)) = setup(&dir).await else {
        return;
    };
    let base = format!("http://127.0.0.1:{}", server.port);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let _ = http();
    // The portal: start, the provider, the callback with the binding cookie.
    let start = client
        .get(format!("{base}/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    let binding = start
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|c| {
            c.to_str()
                .unwrap()
                .strip_prefix("eligo_oidc=")
                .map(|v| v.split(';').next().unwrap().to_string())
        })
        .expect("binding cookie");
    let location = start.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&idp.issuer()), "{location}");
    assert!(
        location.contains("code_challenge_method=S256") && location.contains("nonce="),
        "{location}"
    );
    let back = through_provider_to(&location, &base).await;
    let done = client
        .get(&back)
        .header("cookie", format!("eligo_oidc={binding}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        done.status(),
        303,
        "{}",
        done.text().await.unwrap_or_default()
    );
    let session = done
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|c| {
            c.to_str()
                .unwrap()
                .strip_prefix("eligo_session=")
                .map(|v| v.split(';').next().unwrap().to_string())
        })
        .expect("a session cookie");
    let page = client
        .get(format!("{base}/portal/roles"))
        .header("cookie", format!("eligo_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);

    // The CLI: `eligo login --sso` prints the address, the browser goes there and comes back.
    let config = dir.join("cli-config");
    let mut cli = eligo()
        .args(["login", "--sso", "--server", &base])
        .env("ELIGO_CONFIG_DIR", &config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(cli.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(u) = line.trim().strip_prefix("http") {
                return format!("http{u}");
            }
        }
        panic!("eligo login --sso printed no address");
    })
    .await
    .expect("the CLI printed an address");
    let redirect = reqwest::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.to_string())
        .expect("a redirect URI");
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let back = through_provider_to(&url, &redirect).await;
    assert!(back.contains("/callback?"), "{back}");
    let answer = client.get(&back).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.text().await.unwrap().contains("Signed in"));
    let mut rest = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push_str(&line);
        rest.push('\n');
    }
    let status = tokio::time::timeout(Duration::from_secs(30), cli.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains("as alice@contoso.example"), "{rest}");
    let whoami = eligo()
        .args(["whoami"])
        .env("ELIGO_CONFIG_DIR", &config)
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&whoami.stdout),
        String::from_utf8_lossy(&whoami.stderr)
    );
    assert!(
        whoami.status.success() && text.contains("alice@contoso.example"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn sso_walks_through_in_chromium() {
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let Some(runner) = eligo_testkit::browser::runner(&scripts) else {
        return;
    };
    let dir = temp_dir("sso-e2e");
    let Some((_idp, server)) = setup(&dir).await else {
        return;
    };
    let outcome = runner
        .run(
            "sso.mjs",
            &[("ELIGO_URL", format!("http://127.0.0.1:{}", server.port))],
            Duration::from_secs(120),
        )
        .await;
    println!("{}", outcome.output);
    assert!(
        outcome.success,
        "the SSO walk failed:\n{}\n--- server stderr ---\n{}",
        outcome.output,
        server.stderr()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
