//! The public expression of interest, and consent per purpose.

use sea_orm::sea_query::OnConflict;

use super::*;
use crate::consent;

/// Who may read and record a partner's consents: the partner, and the leads.
pub(super) const CONSENT_EDITORS: &[Role] = &[Role::Partner, Role::EngagementLead, Role::Admin];
/// Who may read them: also staff, who must know whether a partner may be contacted.
pub(super) const CONSENT_READERS: &[Role] = &[
    Role::Partner,
    Role::EngagementLead,
    Role::Staff,
    Role::Admin,
];

fn notice_version(v: &mut alongside_platform::error::Violations, value: &str) -> String {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 40 {
        v.push(
            "notice_version",
            "name the version of the privacy notice shown (up to 40 characters)",
        );
    }
    value.to_string()
}

impl PeopleApi {
    pub(super) async fn express_interest(
        &self,
        caller: &Caller,
        request: ExpressInterestRequest,
    ) -> Result<ExpressInterestResponse, ServiceError> {
        let mut v = alongside_platform::error::Violations::default();
        let interests = request.interests.trim().to_string();
        if interests.chars().count() > 1000 {
            v.push("interests", "must be 1,000 characters or fewer");
        }
        if !request.consent_to_contact {
            v.push(
                "consent_to_contact",
                "we need your permission to contact you about your interest",
            );
        }
        let version = notice_version(&mut v, &request.notice_version);
        // The registration checks, then these, so every problem is reported at once.
        let checked = crate::validate::registration(RegisterPartnerRequest {
            given_name: request.given_name,
            family_name: request.family_name,
            email: request.email,
            phone: request.phone,
            locality: request.locality,
        });
        let r = match (checked, v.finish()) {
            (Ok(r), Ok(())) => r,
            (Err(ServiceError::Invalid(mut a)), Err(ServiceError::Invalid(b))) => {
                a.extend(b);
                return Err(ServiceError::Invalid(a));
            }
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        let row = new_partner(
            caller,
            r,
            Stage::Interest,
            "public form",
            self.clock.now_rfc3339(),
        );
        let txn = self.db.begin().await?;
        // An address already in the bank changes nothing, and the caller learns nothing of it.
        let inserted = partner::Entity::insert(to_active(&row))
            .on_conflict(
                OnConflict::columns([partner::Column::TenantId, partner::Column::Email])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        if inserted == 0 {
            txn.rollback().await?;
            tracing::info!(tenant = %caller.tenant, "expression of interest from an address already registered");
            return Ok(ExpressInterestResponse {});
        }
        let why = if interests.is_empty() {
            "Expressed interest online".to_string()
        } else {
            format!("Expressed interest online: {interests}")
        };
        self.created(&txn, caller, &row, &why).await?;
        consent::Entity::insert(consent::ActiveModel {
            tenant_id: Set(caller.tenant.to_string()),
            partner_id: Set(row.id.clone()),
            purpose: Set("contact".into()),
            granted: Set(true),
            notice_version: Set(version),
            recorded_at: Set(row.registered_at.clone()),
            recorded_by: Set(row.id.clone()),
            recorded_by_role: Set(caller.role.as_str().into()),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(partner_id = %row.id, tenant = %caller.tenant, "expression of interest");
        Ok(ExpressInterestResponse {})
    }

    async fn consents(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<ListConsentsResponse, ServiceError> {
        let history = consent::of_partner(&caller.tenant, id)
            .order_by_desc(consent::Column::Id)
            .all(&self.db)
            .await?;
        Ok(ListConsentsResponse {
            current: consent::current(&history)
                .into_iter()
                .map(Into::into)
                .collect(),
            history: history.into_iter().map(Into::into).collect(),
        })
    }

    pub(super) async fn list_consents(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<ListConsentsResponse, ServiceError> {
        self.reachable(caller, id).await?;
        let answer = self.consents(caller, id).await?;
        audit::record(&self.db, caller, "read", "consent", id).await?;
        Ok(answer)
    }

    pub(super) async fn record_consent(
        &self,
        caller: &Caller,
        request: RecordConsentRequest,
    ) -> Result<ListConsentsResponse, ServiceError> {
        let mut v = alongside_platform::error::Violations::default();
        let purpose = request.purpose.trim();
        if !consent::purpose_known(purpose) {
            v.push("purpose", "must be one of contact, data, sharing, equality");
        }
        let version = notice_version(&mut v, &request.notice_version);
        v.finish()?;
        let id = request.partner_id.clone();
        let row = self.reachable(caller, &id).await?;
        let txn = self.db.begin().await?;
        self.consent_at(&txn, caller, &id, purpose, request.granted, &version)
            .await?;
        if !request.granted {
            // A withdrawal takes effect everywhere: at every other trust of the ICS that holds
            // a record of the person, added with their consent to be offered across it.
            for other in partner::linked(&txn, &row).await? {
                let there = Caller {
                    tenant: alongside_platform::OdsCode::parse(&other.tenant_id)
                        .map_err(|e| ServiceError::Internal(e.to_string()))?,
                    ..caller.clone()
                };
                self.consent_at(&txn, &there, &other.id, purpose, false, &version)
                    .await?;
            }
        }
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(partner_id = %id, purpose, granted = request.granted, "consent recorded");
        self.consents(caller, &id).await
    }

    /// Records one consent of a record, with what it sets off: a withdrawn equality consent
    /// takes the answers with it; the change is audited and published.
    async fn consent_at(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        caller: &Caller,
        id: &str,
        purpose: &str,
        granted: bool,
        version: &str,
    ) -> Result<(), ServiceError> {
        consent::Entity::insert(consent::ActiveModel {
            tenant_id: Set(caller.tenant.to_string()),
            partner_id: Set(id.to_string()),
            purpose: Set(purpose.to_string()),
            granted: Set(granted),
            notice_version: Set(version.to_string()),
            recorded_at: Set(self.clock.now_rfc3339()),
            recorded_by: Set(caller.subject.clone()),
            recorded_by_role: Set(caller.role.as_str().into()),
            ..Default::default()
        })
        .exec_without_returning(txn)
        .await?;
        if purpose == "equality" && !granted {
            // Withdrawal takes the answers with it.
            super::equality::forget_equality(txn, &caller.tenant, id).await?;
        }
        audit::record(txn, caller, "update", "consent", id).await?;
        let event = alongside_proto::people::events::v1::PartnerConsentChanged {
            partner_id: id.to_string(),
            purpose: purpose.to_string(),
            granted,
            changed_at: self.clock.now_rfc3339(),
        };
        self.outbox
            .enqueue(txn, PEOPLE_PARTNERS, id, &caller.tenant, &event)
            .await?;
        Ok(())
    }
}
