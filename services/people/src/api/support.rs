//! Support calls: name a supporter, write and read debrief and wellbeing notes.

use sea_orm::sea_query::OnConflict;

use super::*;
use crate::support::{note, supporter, NOTE_KINDS};

/// Who may name a supporter.
pub(super) const SUPPORT_ASSIGNERS: &[Role] = &[Role::EngagementLead];
/// Who may be asking about notes: leads, and staff (only the partner's own supporter gets in).
pub(super) const SUPPORT_READERS: &[Role] = &[Role::EngagementLead, Role::Staff];

impl PeopleApi {
    /// Leads, or the member of staff named as this partner's supporter; anyone else is refused
    /// without learning whether notes exist.
    async fn support_access(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Option<supporter::Model>, ServiceError> {
        let row = self.find(caller, id).await?;
        if row.status == Stage::Erased.as_str() {
            return Err(ServiceError::invalid(
                "id",
                "this partner's record has been erased",
            ));
        }
        let named = supporter::of_partner(&caller.tenant, id)
            .one(&self.db)
            .await?;
        let is_supporter = named
            .as_ref()
            .is_some_and(|s| s.supporter_id == caller.subject);
        if caller.role == Role::EngagementLead || is_supporter {
            Ok(named)
        } else {
            Err(ServiceError::Forbidden(
                "only the partner's supporter and the engagement leads may see support notes"
                    .into(),
            ))
        }
    }

    async fn support(
        &self,
        caller: &Caller,
        id: &str,
        named: Option<supporter::Model>,
    ) -> Result<Support, ServiceError> {
        let notes = note::of_partner(&caller.tenant, id)
            .order_by_desc(note::Column::Id)
            .all(&self.db)
            .await?;
        let named = named.unwrap_or_else(|| supporter::Model {
            partner_id: id.to_string(),
            tenant_id: caller.tenant.to_string(),
            supporter_id: String::new(),
            supporter_name: String::new(),
            assigned_by: String::new(),
            assigned_at: String::new(),
        });
        Ok(Support {
            partner_id: id.to_string(),
            supporter_id: named.supporter_id,
            supporter_name: named.supporter_name,
            notes: notes.into_iter().map(Into::into).collect(),
        })
    }

    pub(super) async fn get_support(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Support, ServiceError> {
        let named = self.support_access(caller, id).await?;
        let answer = self.support(caller, id, named).await?;
        audit::record(&self.db, caller, "read", "support_notes", id).await?;
        Ok(answer)
    }

    pub(super) async fn assign_supporter(
        &self,
        caller: &Caller,
        request: AssignSupporterRequest,
    ) -> Result<Support, ServiceError> {
        let mut v = alongside_platform::error::Violations::default();
        let supporter_id = request.supporter_id.trim().to_string();
        let supporter_name = request.supporter_name.trim().to_string();
        v.check(
            !supporter_id.is_empty(),
            "supporter_id",
            "choose who supports this partner",
        );
        v.check(
            !supporter_name.is_empty() && supporter_name.chars().count() <= 200,
            "supporter_name",
            "give the supporter's name (up to 200 characters)",
        );
        v.finish()?;
        let id = request.partner_id.clone();
        self.support_access(caller, &id).await?;
        let row = supporter::Model {
            partner_id: id.clone(),
            tenant_id: caller.tenant.to_string(),
            supporter_id,
            supporter_name,
            assigned_by: caller.subject.clone(),
            assigned_at: self.clock.now_rfc3339(),
        };
        let txn = self.db.begin().await?;
        supporter::Entity::insert(sea_orm::IntoActiveModel::into_active_model(row.clone()))
            .on_conflict(
                OnConflict::column(supporter::Column::PartnerId)
                    .update_columns([
                        supporter::Column::SupporterId,
                        supporter::Column::SupporterName,
                        supporter::Column::AssignedBy,
                        supporter::Column::AssignedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        audit::record(&txn, caller, "update", "supporter", &id).await?;
        txn.commit().await?;
        self.support(caller, &id, Some(row)).await
    }

    pub(super) async fn add_support_note(
        &self,
        caller: &Caller,
        request: AddSupportNoteRequest,
    ) -> Result<Support, ServiceError> {
        let mut v = alongside_platform::error::Violations::default();
        let kind = request.kind.trim();
        v.check(
            NOTE_KINDS.contains(&kind),
            "kind",
            "must be debrief or wellbeing",
        );
        let body = request.body.trim();
        if body.is_empty() {
            v.push("body", "write the note");
        } else if body.chars().count() > 4000 {
            v.push("body", "must be 4,000 characters or fewer");
        }
        v.finish()?;
        let id = request.partner_id.clone();
        let named = self.support_access(caller, &id).await?;
        note::Entity::insert(note::ActiveModel {
            tenant_id: Set(caller.tenant.to_string()),
            partner_id: Set(id.clone()),
            kind: Set(kind.to_string()),
            body: Set(body.to_string()),
            written_by: Set(caller.subject.clone()),
            written_by_role: Set(caller.role.as_str().into()),
            written_at: Set(self.clock.now_rfc3339()),
            ..Default::default()
        })
        .exec_without_returning(&self.db)
        .await?;
        audit::record(&self.db, caller, "create", "support_note", &id).await?;
        self.support(caller, &id, named).await
    }
}
