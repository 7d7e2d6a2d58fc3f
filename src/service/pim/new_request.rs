//! A schedule request as asked (by the API, the CLI's bench, or an alert's remediation), before
//! `submit` checks and stores it.

use eligo_core::activation::Ticket;
use eligo_core::request::{RequestAction, RequestKind, ScheduleInfo};
use uuid::Uuid;

pub struct NewRequest {
    pub kind: RequestKind,
    pub action: RequestAction,
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    pub justification: Option<String>,
    pub ticket: Option<Ticket>,
    pub schedule_info: Option<ScheduleInfo>,
    pub is_validation_only: bool,
}
