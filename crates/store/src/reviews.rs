//! The store's side of access reviews (migration 0018): definitions, instances and decisions
//! as the core's JSON, with the columns the scheduler and "what waits on me" read by.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eligo_core::review::{DecisionItem, Definition, Instance};
use uuid::Uuid;

use crate::Result;

#[async_trait]
pub trait ReviewTx: Send {
    async fn insert_review_definition(&mut self, d: &Definition) -> Result<()>;
    /// Replaces a definition (its `next_start` included). False when there is none.
    async fn update_review_definition(&mut self, d: &Definition) -> Result<bool>;
    /// Deletes a definition with its instances and decisions. False when there is none.
    async fn delete_review_definition(&mut self, id: Uuid) -> Result<bool>;
    async fn get_review_definition(&mut self, id: Uuid) -> Result<Option<Definition>>;
    /// Every definition, oldest first.
    async fn list_review_definitions(&mut self) -> Result<Vec<Definition>>;
    /// Definitions whose next instance starts at or before `now`, earliest first.
    async fn due_review_definitions(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Definition>>;

    async fn insert_review_instance(&mut self, i: &Instance) -> Result<()>;
    async fn update_review_instance(&mut self, i: &Instance) -> Result<()>;
    async fn get_review_instance(&mut self, id: Uuid) -> Result<Option<Instance>>;
    /// A definition's instances, oldest first.
    async fn list_review_instances(&mut self, definition_id: Uuid) -> Result<Vec<Instance>>;
    /// Instances owing the scheduler work at or before `now` (`Instance::due_at`).
    async fn due_review_instances(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Instance>>;

    /// Inserts decisions with their reviewers (in batches: a snapshot may hold thousands).
    async fn insert_review_decisions(&mut self, items: &[DecisionItem]) -> Result<()>;
    /// Stores what changed on decisions (their reviewers never change after insertion).
    async fn update_review_decisions(&mut self, items: &[DecisionItem]) -> Result<()>;
    async fn get_review_decision(&mut self, id: Uuid) -> Result<Option<DecisionItem>>;
    /// An instance's decisions (of one stage when given), by principal.
    async fn list_review_decisions(
        &mut self,
        instance_id: Uuid,
        stage: Option<usize>,
    ) -> Result<Vec<DecisionItem>>;
    /// The decisions `reviewer` is a reviewer of (of one instance when given).
    async fn review_decisions_of_reviewer(
        &mut self,
        reviewer: Uuid,
        instance_id: Option<Uuid>,
    ) -> Result<Vec<DecisionItem>>;
    /// The instances where `reviewer` reviews at least one decision.
    async fn review_instances_of_reviewer(&mut self, reviewer: Uuid) -> Result<Vec<Uuid>>;
}
