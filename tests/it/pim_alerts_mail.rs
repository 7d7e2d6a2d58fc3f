//! PIM alert mails with a real maildev and the mock clock: a scan that raises incidents mails
//! the Global and Privileged Role Administrators (active or eligible, nobody else) once per
//! raised incident — a rescan mails nothing more — saying which alert, how many incidents, what
//! it means and where the Alerts page is; a disabled alert mails nobody.

use axum::http::StatusCode;
use eligo_core::roles::ids::{
    GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR, USER_ADMINISTRATOR,
};
use eligo_core::schedule::ScheduleKind;
use eligo_testkit::maildev::Maildev;
use serde_json::{Value, json};

use crate::harness::*;
use crate::pim_alerts::{BASE, alert_id, incidents, refresh};

pub(crate) const PUBLIC: &str = "https://eligo.contoso.example";
const TOO_MANY: &str = "TooManyGlobalAdminsAssignedToTenantAlert";

pub(crate) async fn mail_app() -> Option<(TestApp, Maildev)> {
    let maildev = eligo_testkit::maildev::maildev().await?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let t = TestApp::configured(|c| {
        c.smtp_url = Some(eligo::config::Secret::new(maildev.smtp_url()));
        c.mail_from = "eligo@contoso.example".into();
        c.public_url = PUBLIC.into();
    })
    .await;
    Some((t, maildev))
}

/// Every outbox job of `kind` (`mail.alert`, `mail.digest`), whatever its status.
pub(crate) async fn jobs_of(t: &TestApp, kind: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for status in ["pending", "running", "delivered", "failed"] {
        for job in crate::provisioning::jobs(t, status).await {
            if job["kind"] == kind {
                out.push(job["payload"].clone());
            }
        }
    }
    out
}

/// The `mail.alert` jobs about alert `name`, as (recipient, incidents raised) sorted.
async fn alert_mails(t: &TestApp, name: &str) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = jobs_of(t, "mail.alert")
        .await
        .iter()
        .filter(|p| p["notice"]["alertName"] == name)
        .map(|p| {
            (
                p["to"].as_str().unwrap().to_string(),
                p["notice"]["raised"].as_array().unwrap().len(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Every mail maildev holds, waiting (briefly) until there are at least `n`.
pub(crate) async fn inbox(m: &Maildev, n: usize) -> Vec<Value> {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        let got: Vec<Value> = client
            .get(format!("{}/email", m.api_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("maildev did not receive {n} mail(s)");
}

async fn lower_threshold(t: &TestApp, id: &str, body: Value) {
    let (status, answer) = t
        .patch(&format!("{BASE}/alertConfigurations/{id}"), BOOTSTRAP, body)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn pim_alerts_mail_the_administrators_once_per_raised_incident() {
    let Some((t, maildev)) = mail_app().await else {
        return;
    };
    let id = alert_id(&t, TOO_MANY).await;
    // Recipients: an active Global Administrator and an eligible Privileged Role
    // Administrator. Not: a User Administrator, nor a user holding nothing.
    let ga = t.user("gail").await;
    t.grant(ga, GLOBAL_ADMINISTRATOR, ScheduleKind::Active, None)
        .await;
    let pra = t.user("pria").await;
    t.make_eligible(pra, PRIVILEGED_ROLE_ADMINISTRATOR).await;
    let ua = t.user("uma").await;
    t.grant(ua, USER_ADMINISTRATOR, ScheduleKind::Active, None)
        .await;
    t.user("nobody").await;
    // Two active Global Administrators (break-glass and Gail) of three role holders: the
    // thresholds lowered to 2 and 60% are reached.
    lower_threshold(
        &t,
        &id,
        json!({ "globalAdminCountThreshold": 2, "percentageOfGlobalAdminsOutOfRolesThreshold": 60 }),
    )
    .await;
    refresh(&t).await;
    assert_eq!(incidents(&t, &id).await.len(), 2);
    let mails = alert_mails(&t, TOO_MANY).await;
    let to: Vec<&str> = mails.iter().map(|(to, _)| to.as_str()).collect();
    assert!(to.contains(&"gail@contoso.example"), "{mails:?}");
    assert!(to.contains(&"pria@contoso.example"), "{mails:?}");
    assert!(!to.contains(&"uma@contoso.example"), "{mails:?}");
    assert!(!to.contains(&"nobody@contoso.example"), "{mails:?}");
    assert!(mails.iter().all(|(_, raised)| *raised == 2), "{mails:?}");
    let before = mails.len();

    // What the mail says, read back from maildev.
    eligo::outbox::worker::run_due(&t.app).await.unwrap();
    let got = inbox(&maildev, before).await;
    let mail = got
        .iter()
        .find(|m| {
            m["to"][0]["address"] == "pria@contoso.example"
                && m["subject"]
                    .as_str()
                    .unwrap()
                    .contains("too many global administrators")
        })
        .expect("Pria's mail");
    assert_eq!(
        mail["subject"],
        "Eligo: PIM alert: There are too many global administrators (2 new incidents)"
    );
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("it has 2 open incidents now"), "{text}");
    assert!(
        text.contains("What it means: The number of Global Administrators"),
        "{text}"
    );
    assert!(
        text.contains("What to do: Review the Global Administrators"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{PUBLIC}/portal/admin/alerts")),
        "{text}"
    );
    assert!(text.contains("- gail (gail@contoso.example)"), "{text}");

    // A rescan raises nothing: nothing more is mailed.
    refresh(&t).await;
    assert_eq!(alert_mails(&t, TOO_MANY).await.len(), before);

    // A third Global Administrator while the alert is disabled: no incident, no mail.
    lower_threshold(&t, &id, json!({ "isEnabled": false })).await;
    let gus = t.user("gus").await;
    t.grant(gus, GLOBAL_ADMINISTRATOR, ScheduleKind::Active, None)
        .await;
    refresh(&t).await;
    assert!(incidents(&t, &id).await.is_empty());
    assert_eq!(alert_mails(&t, TOO_MANY).await.len(), before);

    // Enabled again: the three are raised anew, one mail per recipient naming all three.
    lower_threshold(&t, &id, json!({ "isEnabled": true })).await;
    refresh(&t).await;
    let mails = alert_mails(&t, TOO_MANY).await;
    let gus_too = mails.len() - before;
    assert_eq!(gus_too, before + 1, "Gus hears of it too: {mails:?}");
    assert_eq!(mails.iter().filter(|(_, n)| *n == 3).count(), gus_too);
}

#[tokio::test]
async fn pim_alerts_without_mail_configured_write_no_mail_jobs() {
    let t = TestApp::new().await;
    let id = alert_id(&t, TOO_MANY).await;
    let ga = t.user("gail").await;
    t.grant(ga, GLOBAL_ADMINISTRATOR, ScheduleKind::Active, None)
        .await;
    lower_threshold(&t, &id, json!({ "globalAdminCountThreshold": 2 })).await;
    refresh(&t).await;
    assert_eq!(incidents(&t, &id).await.len(), 2);
    assert!(jobs_of(&t, "mail.alert").await.is_empty());
}
