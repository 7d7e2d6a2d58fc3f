//! Mail latency against a real SMTP server (maildev): an approver is told by mail that a
//! request waits for them; how long from the POST of the activation request until that mail
//! can be read from maildev?
//!
//! One Eligo configured with maildev as its relay from the start; a role whose policy requires
//! approval by one user with a mail address; M requesters, each eligible, signed in, enrolled
//! in TOTP and freshly stepped up. Then, one at a time (each on an idle server): maildev
//! emptied, the activation POSTed, maildev's `GET /email` polled every 10 ms until the
//! approver's mail is listed.

use std::time::Duration;

use anyhow::{Context, ensure};
use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use eligo_core::roles::ids;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{
    BOOTSTRAP, Backend, Eligo, PASSWORD, id_of, ms_between, now, percentile, sorted,
};

const ROLE: &str = ids::SECURITY_ADMINISTRATOR;
const APPROVER: &str = "approver@contoso.example";
const POLL_EVERY: Duration = Duration::from_millis(10);

struct Requester {
    nick: String,
    id: Uuid,
    token: String,
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn recipients(mail: &Value) -> Vec<String> {
    mail["to"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["address"].as_str().map(str::to_ascii_lowercase))
                .collect()
        })
        .unwrap_or_default()
}

/// Returns the RESULT and DETAIL lines, or None when maildev is not installed.
pub async fn run(count: usize) -> anyhow::Result<Option<Vec<String>>> {
    let Some(maildev) = eligo_testkit::maildev::maildev().await else {
        eprintln!(
            "\n!!! mail latency benchmark SKIPPED: maildev is not on PATH (npm install -g maildev@2.2.1)\n"
        );
        return Ok(None);
    };
    let api = maildev.api_url();
    let client = http();
    let eligo = Eligo::open(Backend::Sqlite, Some(maildev.smtp_url())).await?;

    // The approver, and the role's policy: approval by them.
    let approver = id_of(
        &eligo
            .post(
                "/v1/users",
                BOOTSTRAP,
                &json!({ "userPrincipalName": APPROVER, "displayName": "Approver", "mail": APPROVER }),
            )
            .await?,
    )?;
    eligo
        .expect(
            Method::PATCH,
            &format!(
                "/v1/policies/roleManagementPolicies/DirectoryRole_{ROLE}/rules/Approval_EndUser_Assignment"
            ),
            BOOTSTRAP,
            Some(&json!({ "setting": { "isApprovalRequired": true, "approvalStages": [
                { "primaryApprovers": [
                    { "@odata.type": "#microsoft.graph.singleUser", "userId": approver } ] } ] } })),
            StatusCode::OK,
        )
        .await?;

    // The requesters: eligible, signed in, TOTP enrolled, stepped up (MFA is fresh for 10
    // minutes, far longer than the timed part takes).
    let mut requesters = Vec::with_capacity(count);
    for i in 0..count {
        let nick = format!("requester{i:03}");
        let upn = format!("{nick}@contoso.example");
        let id = id_of(
            &eligo
                .post(
                    "/v1/users",
                    BOOTSTRAP,
                    &json!({ "userPrincipalName": upn, "displayName": nick,
                             "passwordProfile": { "password": PASSWORD } }),
                )
                .await?,
        )?;
        let (status, body) = eligo
            .call(
                Method::POST,
                "/v1/auth/token",
                None,
                Some(&json!({ "username": upn, "password": PASSWORD })),
            )
            .await?;
        ensure!(status == StatusCode::OK, "sign-in: {status} {body}");
        let token = body["access_token"]
            .as_str()
            .context("no access_token")?
            .to_string();
        let body = eligo
            .expect(
                Method::POST,
                "/v1/me/authenticationMethods/totp",
                &token,
                Some(&json!({})),
                StatusCode::OK,
            )
            .await?;
        let secret = body["secret"].as_str().context("no secret")?.to_string();
        let code = eligo::auth::totp::code_at(&secret, now()).context("a TOTP code")?;
        eligo
            .expect(
                Method::POST,
                "/v1/me/authenticationMethods/totp/verify",
                &token,
                Some(&json!({ "otp": code })),
                StatusCode::NO_CONTENT,
            )
            .await?;
        eligo
            .post(
                "/v1/roleManagement/directory/roleEligibilityScheduleRequests",
                BOOTSTRAP,
                &json!({
                    "action": "adminAssign", "principalId": id, "roleDefinitionId": ROLE,
                    "directoryScopeId": "/", "justification": "standing eligibility",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } },
                }),
            )
            .await?;
        // The next TOTP step (one step of skew is accepted; a step is accepted once).
        let code = eligo::auth::totp::code_at(&secret, now() + TimeDelta::seconds(30))
            .context("a TOTP code")?;
        eligo
            .expect(
                Method::POST,
                "/v1/auth/stepup",
                &token,
                Some(&json!({ "otp": code })),
                StatusCode::OK,
            )
            .await?;
        requesters.push(Requester { nick, id, token });
    }
    // Let the setup's own mails (none are expected, but be sure) arrive before timing.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut latencies = Vec::with_capacity(count);
    let mut answered = Vec::with_capacity(count);
    let mut named = 0usize;
    for r in &requesters {
        client
            .delete(format!("{api}/email/all"))
            .send()
            .await?
            .error_for_status()?;
        let body = json!({
            "action": "selfActivate", "principalId": r.id, "roleDefinitionId": ROLE,
            "directoryScopeId": "/", "justification": "incident response",
            "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } },
        });
        let posted = now();
        let answer = eligo
            .post(
                "/v1/roleManagement/directory/roleAssignmentScheduleRequests",
                &r.token,
                &body,
            )
            .await?;
        let answered_at = now();
        ensure!(
            answer["status"] == "PendingApproval",
            "the request does not wait for approval: {answer}"
        );
        let deadline = posted + TimeDelta::seconds(30);
        let mail = loop {
            let mails: Vec<Value> = client
                .get(format!("{api}/email"))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let seen = now();
            if let Some(m) = mails
                .into_iter()
                .find(|m| recipients(m).iter().any(|a| a == APPROVER))
            {
                break (m, seen);
            }
            ensure!(
                seen < deadline,
                "no mail for the approver within 30 s of {}'s request",
                r.nick
            );
            tokio::time::sleep(POLL_EVERY).await;
        };
        let (m, seen) = mail;
        let subject = m["subject"].as_str().unwrap_or_default();
        if subject.contains(&r.nick) {
            named += 1;
        }
        latencies.push(ms_between(posted, seen));
        answered.push(ms_between(posted, answered_at));
    }
    if named != count {
        eprintln!(
            "warning: only {named} of {count} approver mails named their requester in the subject"
        );
    }
    eligo.close().await;

    let lat = sorted(latencies);
    let answered = sorted(answered);
    Ok(Some(vec![
        format!(
            "RESULT mail_latency count={count} p50_ms={:.1} p99_ms={:.1} max_ms={:.1}",
            percentile(&lat, 0.50),
            percentile(&lat, 0.99),
            percentile(&lat, 1.0),
        ),
        format!(
            "DETAIL mail_latency count={count} post_answered_p50_ms={:.1} post_answered_max_ms={:.1} subject_named={named}",
            percentile(&answered, 0.50),
            percentile(&answered, 1.0),
        ),
    ]))
}
