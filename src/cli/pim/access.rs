//! Effective access from the command line: `exposure ROLE` (who holds a role now, who could
//! activate it, and through which groups) and `check PRINCIPAL --role|--group` ("does P hold
//! it now, and how?", answered in the exit code too).

use std::io::Write;

use anyhow::Context;
use serde_json::Value;

use super::CheckArgs;
use super::http::{Pim, encode};
use super::text::{print_json, table, when};

/// `check`'s exit codes, as `--help` documents them.
pub const ALLOWED: i32 = 0;
pub const DENIED: i32 = 1;
pub const FAILED: i32 = 2;

pub async fn exposure(pim: &Pim, role: &str, json: bool) -> anyhow::Result<()> {
    let role = pim.role(role).await?;
    let report = pim
        .get(&format!(
            "/v1/roleManagement/directory/roleDefinitions/{}/exposure",
            encode(&role.id)
        ))
        .await
        .with_context(|| format!("reading who can reach {}", role.name))?;
    if json {
        print_json(&report);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = report["value"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            vec![
                name_or_id(&e["displayName"], &e["principalId"]),
                e["principalType"].as_str().unwrap_or("?").to_string(),
                e["exposure"].as_str().unwrap_or("?").to_string(),
                via(&e["via"]),
                e["directoryScopeId"].as_str().unwrap_or("/").to_string(),
                when(&e["endDateTime"]),
            ]
        })
        .collect();
    let name = report["displayName"].as_str().unwrap_or(&role.name);
    if rows.is_empty() {
        say!("nobody holds or can activate {name}");
    } else {
        say!(
            "{}",
            table(
                &["PRINCIPAL", "TYPE", "EXPOSURE", "VIA", "SCOPE", "UNTIL"],
                &rows
            )
        );
        say!();
    }
    say!("{}", summary(name, &report["summary"]));
    Ok(())
}

/// `Global Administrator: 4 principals — 2 standing, 1 active, 2 eligible`.
fn summary(role: &str, s: &Value) -> String {
    let n = |key: &str| s[key].as_u64().unwrap_or(0);
    let principals = n("principals");
    format!(
        "{role}: {principals} principal{} — {} standing, {} active, {} eligible",
        if principals == 1 { "" } else { "s" },
        n("standing"),
        n("active"),
        n("eligible"),
    )
}

/// The groups on the way, `-` for none.
fn via(groups: &Value) -> String {
    let names: Vec<String> = groups
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| name_or_id(&g["displayName"], &g["id"]))
        .collect();
    if names.is_empty() {
        "-".into()
    } else {
        names.join(" > ")
    }
}

fn name_or_id(name: &Value, id: &Value) -> String {
    match name.as_str() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => id.as_str().unwrap_or("?").to_string(),
    }
}

/// Runs `check` and returns its exit code: [`ALLOWED`], [`DENIED`], or [`FAILED`] after the
/// error on stderr (not signed in, an unknown name, a refusal, no server).
pub async fn check(args: CheckArgs) -> i32 {
    let code = match ask(args).await {
        Ok(true) => ALLOWED,
        Ok(false) => DENIED,
        Err(e) => {
            eprintln!("error: {e:#}");
            FAILED
        }
    };
    let _ = std::io::stdout().flush();
    code
}

async fn ask(a: CheckArgs) -> anyhow::Result<bool> {
    let pim = Pim::open()?;
    let principal = principal_id(&pim, &a.principal).await?;
    let (query, (yes, no)) = match (&a.role, &a.group) {
        (Some(role), None) => {
            let role = pim.role(role).await?;
            (
                format!(
                    "principalId={}&roleDefinitionId={}&directoryScopeId={}",
                    encode(&principal),
                    encode(&role.id),
                    encode(&a.scope),
                ),
                (
                    format!("holds {} at {}", role.name, a.scope),
                    format!("does not hold {} at {} now", role.name, a.scope),
                ),
            )
        }
        (None, Some(group)) => {
            let id = if uuid::Uuid::parse_str(group).is_ok() {
                group.clone()
            } else {
                pim.group_id(group).await?
            };
            (
                format!(
                    "principalId={}&groupId={}&accessId={}",
                    encode(&principal),
                    encode(&id),
                    encode(&a.access),
                ),
                (
                    format!("is {} of group {group}", article(&a.access)),
                    format!("is not {} of group {group} now", article(&a.access)),
                ),
            )
        }
        // clap's argument group makes it exactly one.
        _ => anyhow::bail!("give either --role or --group"),
    };
    let answer = pim
        .get(&format!("/v1/access/check?{query}"))
        .await
        .with_context(|| format!("checking whether {} {yes}", a.principal))?;
    let allowed = answer["allowed"]
        .as_bool()
        .context("the server's answer has no `allowed`")?;
    if a.json {
        print_json(&answer);
        return Ok(allowed);
    }
    if allowed {
        say!("allowed: {} {yes}", a.principal);
        say!("until: {}", when(&answer["expiresAt"]));
    } else {
        say!("not allowed: {} {no}", a.principal);
    }
    for path in answer["paths"].as_array().into_iter().flatten() {
        say!(
            "  - {}",
            path["description"]
                .as_str()
                .or(path["kind"].as_str())
                .unwrap_or("?")
        );
    }
    Ok(allowed)
}

/// The principal's id; your own UPN resolves without the right to read users (anyone may ask
/// about themselves).
async fn principal_id(pim: &Pim, principal: &str) -> anyhow::Result<String> {
    if uuid::Uuid::parse_str(principal).is_err() && principal.contains('@') {
        let me = pim.me().await?;
        if me["userPrincipalName"]
            .as_str()
            .is_some_and(|upn| upn.eq_ignore_ascii_case(principal))
            && let Some(id) = me["id"].as_str()
        {
            return Ok(id.to_string());
        }
    }
    pim.principal_id(principal).await
}

/// `a member`, `an owner`.
fn article(access: &str) -> String {
    match access.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {access}"),
        _ => format!("a {access}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn summaries_and_ways() {
        let s = json!({"principals": 3, "standing": 2, "active": 0, "eligible": 1});
        assert_eq!(
            summary("Global Administrator", &s),
            "Global Administrator: 3 principals — 2 standing, 0 active, 1 eligible"
        );
        assert_eq!(
            summary("X", &json!({"principals": 1, "standing": 1})),
            "X: 1 principal — 1 standing, 0 active, 0 eligible"
        );
        assert_eq!(via(&json!([])), "-");
        assert_eq!(article("member"), "a member");
        assert_eq!(article("owner"), "an owner");
        assert_eq!(
            via(&json!([{"id": "a", "displayName": "Outer"}, {"id": "b", "displayName": null}])),
            "Outer > b"
        );
    }
}
