//! The profile calls: read and change a partner's profile, set and reveal bank details.

use sea_orm::sea_query::OnConflict;

use super::*;
use crate::profile::{self, Column as P, Model};

/// Who may read a profile (each sees the part [`profile::view`] gives their role).
pub(super) const PROFILE_READERS: &[Role] = &[
    Role::Partner,
    Role::EngagementLead,
    Role::Staff,
    Role::Admin,
    Role::Finance,
];
/// Who may change a profile: the partner, or a lead on their behalf.
pub(super) const PROFILE_EDITORS: &[Role] = &[Role::Partner, Role::EngagementLead, Role::Admin];
/// Who may set bank details: the partner, or finance.
pub(super) const BANK_EDITORS: &[Role] = &[Role::Partner, Role::Finance];

impl PeopleApi {
    /// The partner whose profile or consents `caller` may reach: a partner only their own, the
    /// other roles any of their trust's; never an erased record.
    pub(super) async fn reachable(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<partner::Model, ServiceError> {
        if caller.role == Role::Partner && caller.subject != id {
            return Err(ServiceError::not_found("partner", id));
        }
        let row = self.find(caller, id).await?;
        if row.status == Stage::Erased.as_str() {
            return Err(ServiceError::invalid(
                "id",
                "this partner's record has been erased",
            ));
        }
        Ok(row)
    }

    pub(super) async fn stored_profile(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<profile::Model, ServiceError> {
        Ok(profile::of_partner(&caller.tenant, id)
            .one(&self.db)
            .await?
            .unwrap_or_else(|| profile::blank(&caller.tenant, id)))
    }

    pub(super) async fn get_profile(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Profile, ServiceError> {
        self.reachable(caller, id).await?;
        let row = self.stored_profile(caller, id).await?;
        audit::record(&self.db, caller, "read", "partner_profile", id).await?;
        Ok(profile::view(&row, caller.role))
    }

    pub(super) async fn update_profile(
        &self,
        caller: &Caller,
        request: UpdateProfileRequest,
    ) -> Result<Profile, ServiceError> {
        let id = request.partner_id.clone();
        self.reachable(caller, &id).await?;
        let current = self.stored_profile(caller, &id).await?;
        let row = profile::Model {
            updated_at: self.clock.now_rfc3339(),
            updated_by: caller.subject.clone(),
            ..profile::updated(&current, &request)?
        };
        let txn = self.db.begin().await?;
        // One statement that inserts or changes only the profile's own columns: bank details,
        // set by another call, are never overwritten by a profile form.
        profile::Entity::insert(active(&row))
            .on_conflict(
                OnConflict::column(P::PartnerId)
                    .update_columns([
                        P::ContactMethod,
                        P::AccessibilityNeeds,
                        P::LivedExperience,
                        P::Skills,
                        P::Availability,
                        P::AvailabilityNote,
                        P::PaymentPreference,
                        P::ReducedAmountPence,
                        P::ReceivesBenefits,
                        P::Benefits,
                        P::Adjustments,
                        P::Address,
                        P::Postcode,
                        P::UpdatedAt,
                        P::UpdatedBy,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        audit::record(&txn, caller, "update", "partner_profile", &id).await?;
        let terms = profile::payment_terms(&row);
        if terms
            != profile::payment_terms(&Model {
                updated_at: row.updated_at.clone(),
                ..current
            })
        {
            self.outbox
                .enqueue(&txn, PEOPLE_PARTNERS, &id, &caller.tenant, &terms)
                .await?;
        }
        txn.commit().await?;
        self.outbox.notify();
        let saved = self.stored_profile(caller, &id).await?;
        Ok(profile::view(&saved, caller.role))
    }

    pub(super) async fn set_bank_details(
        &self,
        caller: &Caller,
        request: SetBankDetailsRequest,
    ) -> Result<Profile, ServiceError> {
        let id = request.partner_id.clone();
        self.reachable(caller, &id).await?;
        let (name, sort_code, account) = profile::bank_details(&request)?;
        let now = self.clock.now_rfc3339();
        let row = profile::Model {
            bank_sealed: self.sealer.seal(
                &format!("{name}\n{sort_code}\n{account}"),
                &bank_context(caller, &id),
            ),
            bank_masked: profile::masked(&sort_code, &account),
            bank_updated_at: now.clone(),
            updated_at: now.clone(),
            updated_by: caller.subject.clone(),
            ..profile::blank(&caller.tenant, &id)
        };
        let txn = self.db.begin().await?;
        profile::Entity::insert(active(&row))
            .on_conflict(
                OnConflict::column(P::PartnerId)
                    .update_columns([P::BankSealed, P::BankMasked, P::BankUpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        audit::record(&txn, caller, "update", "bank_details", &id).await?;
        // Who changed them, for payments' segregation of duties; never the details.
        let event = alongside_proto::people::events::v1::PartnerBankDetailsChanged {
            partner_id: id.clone(),
            changed_by: caller.subject.clone(),
            changed_at: now,
        };
        self.outbox
            .enqueue(&txn, PEOPLE_PARTNERS, &id, &caller.tenant, &event)
            .await?;
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(partner_id = %id, "bank details changed");
        let saved = self.stored_profile(caller, &id).await?;
        Ok(profile::view(&saved, caller.role))
    }

    pub(super) async fn reveal_bank_details(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<BankDetails, ServiceError> {
        self.reachable(caller, id).await?;
        let row = self.stored_profile(caller, id).await?;
        if row.bank_sealed.is_empty() {
            return Err(ServiceError::not_found("bank details of partner", id));
        }
        let opened = self
            .sealer
            .open(&row.bank_sealed, &bank_context(caller, id))
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let details = unsealed(id, &opened);
        // Recorded before the details leave the service.
        audit::record(&self.db, caller, "reveal", "bank_details", id).await?;
        Ok(details)
    }
}

impl PeopleApi {
    /// Names (and, when asked, bank details) of up to 1,000 of the trust's partners, for finance.
    pub(super) async fn payees(
        &self,
        caller: &Caller,
        request: GetPayeesRequest,
    ) -> Result<GetPayeesResponse, ServiceError> {
        if request.partner_ids.len() > 1_000 {
            return Err(ServiceError::invalid(
                "partner_ids",
                "ask for at most 1,000 partners at a time",
            ));
        }
        let rows = partner::for_tenant(&caller.tenant)
            .filter(partner::Column::Id.is_in(request.partner_ids.iter().cloned()))
            .all(&self.db)
            .await?;
        let sealed: std::collections::HashMap<String, String> = profile::Entity::find()
            .filter(P::TenantId.eq(caller.tenant.as_str()))
            .filter(P::PartnerId.is_in(request.partner_ids.iter().cloned()))
            .filter(P::BankSealed.ne(""))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.partner_id, p.bank_sealed))
            .collect();
        let by_id: std::collections::HashMap<&str, &partner::Model> =
            rows.iter().map(|r| (r.id.as_str(), r)).collect();
        let mut payees = Vec::new();
        let mut revealed = Vec::new();
        for id in &request.partner_ids {
            let Some(row) = by_id.get(id.as_str()) else {
                continue;
            };
            let held = sealed.get(id).filter(|_| request.include_bank_details);
            let bank_details = match held {
                Some(sealed) => {
                    let opened = self
                        .sealer
                        .open(sealed, &bank_context(caller, id))
                        .map_err(|e| ServiceError::Internal(e.to_string()))?;
                    revealed.push(id.clone());
                    Some(unsealed(id, &opened))
                }
                None => None,
            };
            let name = if row.status == Stage::Erased.as_str() {
                "Erased partner".to_string()
            } else {
                format!("{} {}", row.given_name, row.family_name)
            };
            payees.push(Payee {
                partner_id: id.clone(),
                name,
                bank_details,
                bank_details_held: sealed.contains_key(id),
            });
        }
        let named: Vec<String> = payees.iter().map(|p| p.partner_id.clone()).collect();
        let txn = self.db.begin().await?;
        audit::record_each(&txn, caller, "read", "payee", &named).await?;
        // Recorded before the details leave the service.
        audit::record_each(&txn, caller, "reveal", "bank_details", &revealed).await?;
        txn.commit().await?;
        Ok(GetPayeesResponse { payees })
    }
}

fn unsealed(partner_id: &str, opened: &str) -> BankDetails {
    let mut parts = opened.splitn(3, '\n');
    let mut next = || parts.next().unwrap_or_default().to_string();
    BankDetails {
        partner_id: partner_id.to_string(),
        account_name: next(),
        sort_code: next(),
        account_number: next(),
    }
}

/// What a partner's sealed bank details are bound to.
fn bank_context(caller: &Caller, partner_id: &str) -> String {
    format!("{}/{partner_id}", caller.tenant)
}

fn active(m: &profile::Model) -> profile::ActiveModel {
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    // Every column is written (an upsert names its own columns to change on conflict).
    m.clone().into_active_model().reset_all()
}
