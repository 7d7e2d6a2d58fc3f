//! `MembersAddedOutsideEligoAlert`: the PIM alert mirrors the older "Members added outside
//! Eligo" security alerts (`/v1/alerts`) that connector reconciliation raises for each
//! downstream stray: one incident per active stray alert, resolved when that alert is resolved.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{Cause, Facts};

/// An active stray alert of `/v1/alerts`, as reconciliation recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stray {
    /// The `/v1/alerts` alert: the incident's key.
    pub alert_id: Uuid,
    pub connector_id: Option<Uuid>,
    pub connector_display_name: Option<String>,
    pub connector_type: Option<String>,
    /// The downstream group (the mapping's target).
    pub downstream_group: Option<String>,
    /// The member's downstream reference and display.
    pub downstream_member: Option<String>,
    pub member: Option<String>,
    /// The Eligo group mapped to the downstream group.
    pub group_id: Option<Uuid>,
    pub group_display_name: Option<String>,
    pub detected: DateTime<Utc>,
}

/// One incident per active stray alert.
pub fn members_added_outside_eligo(facts: &Facts) -> Vec<Cause> {
    facts
        .strays
        .iter()
        .map(|s| Cause {
            key: s.alert_id.to_string(),
            data: json!({
                "alertId": s.alert_id.to_string(),
                "connectorId": s.connector_id.map(|c| c.to_string()),
                "connectorDisplayName": s.connector_display_name,
                "connectorType": s.connector_type,
                "downstreamGroup": s.downstream_group,
                "downstreamMember": s.downstream_member,
                "memberDisplayName": s.member,
                "groupId": s.group_id.map(|g| g.to_string()),
                "groupDisplayName": s.group_display_name,
                "detectedDateTime": s.detected,
            }),
        })
        .collect()
}
