//! `eligo reviews ...`: access reviews from the command line, a thin client of
//! `/v1/identityGovernance/accessReviews`. For reviewers: what waits on me (`list`), deciding
//! one decision or accepting every recommendation (`decide`); for those who run reviews: every
//! review with its progress (`list --all`), `stop` and `apply`. Reviews are named by display
//! name (any case) or id, decisions by id or a unique prefix of one.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::cli::net::Conn;
use crate::cli::packages::lookup::{by_prefix, named};
use crate::cli::pim::text::{print_json, short_id, table};

/// `println!` that does not panic when the reader went away (`eligo reviews list | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

const AR: &str = "/v1/identityGovernance/accessReviews";
const MINE: &str =
    "/v1/identityGovernance/accessReviews/decisions/filterByCurrentUser(on='reviewer')";

#[derive(Subcommand)]
pub enum ReviewsCommand {
    /// The decisions waiting on you as a reviewer, with each recommendation and its reason
    /// (`--all`: every review you may run, with its instances' progress).
    List {
        #[arg(long)]
        all: bool,
        /// Print the server's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Decide one decision (approve, deny or dontknow), or accept the recommendations of every
    /// decision waiting on you (`--recommended`). Needs a fresh second factor: give --otp.
    Decide(DecideArgs),
    /// Stop a review's running instance now (its default decisions and auto-apply happen).
    Stop {
        /// The review (display name or id).
        review: String,
    },
    /// Apply the decisions of a review's last completed instance: every Deny removes its
    /// access.
    Apply {
        /// The review (display name or id).
        review: String,
    },
}

#[derive(Args)]
pub struct DecideArgs {
    /// The decision's id or a unique prefix of it (as `eligo reviews list` shows it).
    #[arg(required_unless_present = "recommended")]
    pub id: Option<String>,
    /// approve, deny or dontknow.
    #[arg(required_unless_present = "recommended")]
    pub decision: Option<String>,
    /// Accept the recommendation of every undecided decision waiting on you.
    #[arg(long, conflicts_with_all = ["id", "decision"])]
    pub recommended: bool,
    #[arg(short, long)]
    pub justification: Option<String>,
    /// A code from your authenticator (deciding needs a fresh second factor).
    #[arg(long)]
    pub otp: Option<String>,
}

pub async fn run(command: ReviewsCommand) -> anyhow::Result<()> {
    let conn = Conn::signed_in()?;
    match command {
        ReviewsCommand::List { all: false, json } => mine(&conn, json).await,
        ReviewsCommand::List { all: true, json } => every_review(&conn, json).await,
        ReviewsCommand::Decide(a) => decide(&conn, a).await,
        ReviewsCommand::Stop { review } => stop(&conn, &review).await,
        ReviewsCommand::Apply { review } => apply(&conn, &review).await,
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn who(principal: &Value) -> String {
    principal["userPrincipalName"]
        .as_str()
        .or(principal["displayName"].as_str())
        .unwrap_or("?")
        .to_string()
}

async fn mine(conn: &Conn, json: bool) -> anyhow::Result<()> {
    let rows = conn.all(MINE).await?;
    if json {
        print_json(&json!({ "value": rows }));
        return Ok(());
    }
    if rows.is_empty() {
        say!("no access review decisions wait on you");
        return Ok(());
    }
    let out: Vec<Vec<String>> = rows
        .iter()
        .map(|d| {
            vec![
                short_id(d["id"].as_str().unwrap_or_default()),
                who(&d["principal"]),
                text(&d["resource"]["displayName"]),
                text(&d["decision"]),
                format!(
                    "{} ({})",
                    text(&d["recommendation"]),
                    text(&d["recommendationReason"])
                ),
            ]
        })
        .collect();
    say!(
        "{}",
        table(
            &["ID", "PRINCIPAL", "ACCESS", "DECISION", "RECOMMENDATION"],
            &out
        )
    );
    Ok(())
}

async fn every_review(conn: &Conn, json: bool) -> anyhow::Result<()> {
    let defs = conn.all(&format!("{AR}/definitions")).await?;
    let mut out = Vec::new();
    let mut whole = Vec::new();
    for d in &defs {
        let id = text(&d["id"]);
        let instances = conn
            .all(&format!("{AR}/definitions/{id}/instances"))
            .await?;
        let last = instances.last();
        let progress = match last {
            Some(i) => {
                let items = conn
                    .all(&format!(
                        "{AR}/definitions/{id}/instances/{}/decisions",
                        text(&i["id"])
                    ))
                    .await?;
                let decided = items
                    .iter()
                    .filter(|x| x["decision"] != "NotReviewed")
                    .count();
                format!("{decided}/{} decided", items.len())
            }
            None => "not started".to_string(),
        };
        out.push(vec![
            short_id(&id),
            text(&d["displayName"]),
            text(&d["status"]),
            last.map(|i| text(&i["status"])).unwrap_or_default(),
            progress,
        ]);
        whole.push(json!({ "definition": d, "instances": instances }));
    }
    if json {
        print_json(&json!({ "value": whole }));
        return Ok(());
    }
    if out.is_empty() {
        say!("no access reviews you may read");
        return Ok(());
    }
    say!(
        "{}",
        table(&["ID", "REVIEW", "STATUS", "INSTANCE", "PROGRESS"], &out)
    );
    Ok(())
}

async fn step_up(conn: &Conn, otp: Option<&str>) -> anyhow::Result<()> {
    if let Some(code) = otp {
        conn.post("/v1/auth/stepup", &json!({ "otp": code }))
            .await
            .context("step-up MFA failed")?;
    }
    Ok(())
}

fn mfa_hint(r: crate::cli::net::Refusal) -> anyhow::Error {
    if r.status == 403 && (r.code == "MfaRequired" || r.has_detail("MfaRequired")) {
        anyhow::anyhow!(
            "{r}\n  deciding needs a fresh second factor: give --otp CODE (or run eligo mfa stepup)"
        )
    } else {
        r.into()
    }
}

async fn decide(conn: &Conn, a: DecideArgs) -> anyhow::Result<()> {
    let rows = conn.all(MINE).await?;
    step_up(conn, a.otp.as_deref()).await?;
    if a.recommended {
        let mut instances: Vec<(String, String)> = rows
            .iter()
            .map(|d| {
                (
                    text(&d["accessReviewDefinitionId"]),
                    text(&d["accessReviewId"]),
                )
            })
            .collect();
        instances.sort();
        instances.dedup();
        if instances.is_empty() {
            say!("no access review decisions wait on you");
        }
        for (def, instance) in instances {
            let path = format!("{AR}/definitions/{def}/instances/{instance}/acceptRecommendations");
            conn.send(reqwest::Method::POST, &path, Some(&json!({})))
                .await?
                .map_err(mfa_hint)?;
        }
        let after = conn.all(MINE).await?;
        let accepted = after
            .iter()
            .filter(|d| d["decision"] != "NotReviewed")
            .count();
        say!(
            "recommendations accepted: {accepted} of {} decisions decided ({} left without a recommendation)",
            after.len(),
            after.len() - accepted
        );
        return Ok(());
    }
    let (Some(id), Some(decision)) = (a.id, a.decision) else {
        bail!("give the decision's id and approve, deny or dontknow (or --recommended)");
    };
    let value = match decision.to_ascii_lowercase().as_str() {
        "approve" => "Approve",
        "deny" => "Deny",
        "dontknow" | "don't-know" | "dont-know" => "DontKnow",
        other => bail!("'{other}' is not a decision: approve, deny or dontknow"),
    };
    let item = by_prefix(&rows, &id, "decision waiting on you")?;
    let path = format!(
        "{AR}/definitions/{}/instances/{}/decisions/{}",
        text(&item["accessReviewDefinitionId"]),
        text(&item["accessReviewId"]),
        text(&item["id"])
    );
    let mut body = json!({ "decision": value });
    if let Some(j) = &a.justification {
        body["justification"] = json!(j);
    }
    conn.send(reqwest::Method::PATCH, &path, Some(&body))
        .await?
        .map_err(mfa_hint)?;
    say!(
        "{}: {} {}",
        who(&item["principal"]),
        value,
        text(&item["resource"]["displayName"])
    );
    Ok(())
}

async fn review(conn: &Conn, name: &str) -> anyhow::Result<Value> {
    let defs = conn.all(&format!("{AR}/definitions")).await?;
    named(&defs, name, "access review")
}

async fn stop(conn: &Conn, name: &str) -> anyhow::Result<()> {
    let d = review(conn, name).await?;
    let id = text(&d["id"]);
    let instances = conn
        .all(&format!("{AR}/definitions/{id}/instances"))
        .await?;
    let Some(running) = instances.iter().rev().find(|i| i["status"] == "InProgress") else {
        bail!("{} has no instance in progress", text(&d["displayName"]));
    };
    conn.post(
        &format!(
            "{AR}/definitions/{id}/instances/{}/stop",
            text(&running["id"])
        ),
        &json!({}),
    )
    .await?;
    say!("{}: stopped", text(&d["displayName"]));
    Ok(())
}

async fn apply(conn: &Conn, name: &str) -> anyhow::Result<()> {
    let d = review(conn, name).await?;
    let id = text(&d["id"]);
    let instances = conn
        .all(&format!("{AR}/definitions/{id}/instances"))
        .await?;
    let Some(done) = instances
        .iter()
        .rev()
        .find(|i| i["status"] == "Completed" || i["status"] == "Applied")
    else {
        bail!(
            "{} has no completed instance to apply (eligo reviews stop ends the running one)",
            text(&d["displayName"])
        );
    };
    let instance = text(&done["id"]);
    conn.post(
        &format!("{AR}/definitions/{id}/instances/{instance}/applyDecisions"),
        &json!({}),
    )
    .await?;
    let items = conn
        .all(&format!(
            "{AR}/definitions/{id}/instances/{instance}/decisions"
        ))
        .await?;
    let removed: Vec<String> = items
        .iter()
        .filter(|x| x["applyResult"] == "AppliedSuccessfully")
        .map(|x| who(&x["principal"]))
        .collect();
    if removed.is_empty() {
        say!("{}: applied, nothing removed", text(&d["displayName"]));
    } else {
        say!(
            "{}: applied, access removed from {}",
            text(&d["displayName"]),
            removed.join(", ")
        );
    }
    Ok(())
}
