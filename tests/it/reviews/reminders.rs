//! Reviewer mails with a real maildev: asked when the stage starts (a link to My reviews),
//! reminded once halfway through while decisions are still open, never after the end.

use chrono::TimeDelta;
use serde_json::json;

use super::support::*;
use crate::harness::*;
use crate::pim_alerts_mail::{PUBLIC, inbox, jobs_of, mail_app};

#[tokio::test]
async fn reviewers_are_asked_at_the_start_and_reminded_once_halfway() {
    let Some((t, maildev)) = mail_app().await else {
        return;
    };
    let rev = t.user("rev").await;
    let (s, b) = t
        .patch(
            &format!("/v1/users/{rev}"),
            BOOTSTRAP,
            json!({ "mail": "rev@contoso.example" }),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let team = t.group("Mailed").await;
    for nick in ["m1", "m2"] {
        let u = t.user(nick).await;
        t.add_member(team, u).await;
    }
    let def = t
        .review(
            BOOTSTRAP,
            json!({ "displayName": "Mailed review", "scope": group_scope(team),
                    "reviewers": [user_reviewer(rev)],
                    "descriptionForReviewers": "Who still needs the mailing lists?",
                    "settings": { "instanceDurationInDays": 4 } }),
        )
        .await;
    let instance = id_of(&t.instance(id_of(&def)).await);
    let asked = jobs_of(&t, "mail.review").await;
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0]["notice"]["decisions"], 2);
    assert_eq!(asked[0]["notice"]["reminder"], false);
    eligo::outbox::worker::run_due(&t.app).await.unwrap();
    let mails = inbox(&maildev, 1).await;
    let text = mails[0]["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("{PUBLIC}/portal/reviews/{instance}")),
        "{text}"
    );
    assert!(
        text.contains("Who still needs the mailing lists?"),
        "{text}"
    );
    // Halfway (two days in): one reminder; the end: none more.
    let pass = t.tick(TimeDelta::days(1)).await;
    assert_eq!(pass.reviews_reminded, 0);
    let pass = t.tick(TimeDelta::days(1)).await;
    assert_eq!(pass.reviews_reminded, 1);
    t.tick(TimeDelta::hours(12)).await;
    t.tick(TimeDelta::days(2)).await;
    let all = jobs_of(&t, "mail.review").await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(
        all.iter()
            .filter(|j| j["notice"]["reminder"] == true)
            .count(),
        1
    );
    assert_eq!(t.instance(id_of(&def)).await["status"], "Completed");
}
