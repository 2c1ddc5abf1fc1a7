//! Tenants and users: the demo ICS of the embedded run, and creating accounts.

use alongside_platform::clock::{Clock, SystemClock};
use alongside_platform::{ids, OdsCode, Role};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::error::AppError;
use crate::session::hash_password;
use crate::store::{tenant, user};

/// The demo ICS: one ICB and two trusts. Codes are shaped like ODS codes but are demo values.
pub const DEMO_TENANTS: &[(&str, &str, &str, Option<&str>)] = &[
    ("QZX", "Demo Valley Integrated Care Board", "icb", None),
    (
        "RZA",
        "Riverside MSK Partnership (demo)",
        "trust",
        Some("QZX"),
    ),
    (
        "RZB",
        "Hillside Community Health (demo)",
        "trust",
        Some("QZX"),
    ),
];

pub const DEMO_PASSWORD: &str = "alongside-demo";

pub async fn ensure_tenants(db: &DatabaseConnection) -> Result<(), AppError> {
    for (code, name, kind, parent) in DEMO_TENANTS {
        tenant::Entity::insert(tenant::ActiveModel {
            ods_code: Set(code.to_string()),
            name: Set(name.to_string()),
            kind: Set(kind.to_string()),
            parent: Set(parent.map(str::to_string)),
        })
        .on_conflict(
            OnConflict::column(tenant::Column::OdsCode)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// Adds an ICB (its ODS code starts with Q) or a trust of an ICB already added, or renames one.
/// Returns what is wrong in words an operator can act on.
pub async fn create_tenant(
    db: &DatabaseConnection,
    ods_code: &str,
    name: &str,
    icb: Option<&str>,
) -> Result<(), String> {
    let code = OdsCode::parse(ods_code).map_err(|e| format!("--ods-code: {e}"))?;
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err("--name: give the organisation's name (1 to 200 characters)".into());
    }
    let (kind, parent) = match icb {
        None if code.is_icb() => ("icb", None),
        None => {
            return Err(format!(
                "{code} is not an ICB code (those start with Q): name the trust's ICB with --icb"
            ))
        }
        Some(_) if code.is_icb() => {
            return Err(format!(
                "{code} is an ICB: it belongs to no other ICB (drop --icb)"
            ))
        }
        Some(icb) => {
            let icb = OdsCode::parse(icb).map_err(|e| format!("--icb: {e}"))?;
            let known = tenant::Entity::find_by_id(icb.to_string())
                .one(db)
                .await
                .map_err(|e| e.to_string())?;
            match known {
                Some(t) if t.kind == "icb" => ("trust", Some(icb.to_string())),
                Some(_) => return Err(format!("--icb: {icb} is a trust, not an ICB")),
                None => return Err(format!("--icb: no ICB {icb} yet: create it first")),
            }
        }
    };
    tenant::Entity::insert(tenant::ActiveModel {
        ods_code: Set(code.to_string()),
        name: Set(name.to_string()),
        kind: Set(kind.to_string()),
        parent: Set(parent),
    })
    .on_conflict(
        OnConflict::column(tenant::Column::OdsCode)
            .update_columns([
                tenant::Column::Name,
                tenant::Column::Kind,
                tenant::Column::Parent,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Whether `ods_code` is a tenant of this gateway.
pub async fn tenant_exists(db: &DatabaseConnection, ods_code: &str) -> Result<bool, AppError> {
    Ok(tenant::Entity::find_by_id(ods_code.to_string())
        .one(db)
        .await?
        .is_some())
}

pub async fn has_users(db: &DatabaseConnection) -> Result<bool, AppError> {
    Ok(user::Entity::find().count(db).await? > 0)
}

/// Creates a user; `partner_id` links a partner's sign-in to their People Bank record.
pub async fn create_user(
    db: &DatabaseConnection,
    email: &str,
    display_name: &str,
    password: &str,
    tenant: &str,
    role: Role,
    partner_id: Option<String>,
) -> Result<(), AppError> {
    // Hashing is slow by design: on a blocking thread, not the async workers.
    let password = password.to_string();
    let hashed = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")))??;
    user::Entity::insert(user::ActiveModel {
        id: Set(ids::new_id(ids::USER)),
        email: Set(email.to_ascii_lowercase()),
        display_name: Set(display_name.to_string()),
        password_hash: Set(hashed),
        tenant_id: Set(tenant.to_string()),
        role: Set(role.as_str().to_string()),
        partner_id: Set(partner_id),
        created_at: Set(SystemClock.now_rfc3339()),
    })
    .on_conflict(
        OnConflict::column(user::Column::Email)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The demo staff accounts: (email, name, tenant, role). Partners are added by the suite once
/// their People Bank records exist.
pub fn demo_staff() -> Vec<(String, String, &'static str, Role)> {
    let mut users = Vec::new();
    for trust in ["RZA", "RZB"] {
        let t = trust.to_ascii_lowercase();
        users.push((
            format!("lead@{t}.demo.test"),
            format!("Engagement Lead ({trust})"),
            trust,
            Role::EngagementLead,
        ));
        users.push((
            format!("staff@{t}.demo.test"),
            format!("Clinical Staff ({trust})"),
            trust,
            Role::Staff,
        ));
        users.push((
            format!("finance@{t}.demo.test"),
            format!("Finance Officer ({trust})"),
            trust,
            Role::Finance,
        ));
        users.push((
            format!("analyst@{t}.demo.test"),
            format!("Analyst ({trust})"),
            trust,
            Role::Analyst,
        ));
        users.push((
            format!("admin@{t}.demo.test"),
            format!("Administrator ({trust})"),
            trust,
            Role::Admin,
        ));
    }
    users.push((
        "ics.analyst@qzx.demo.test".into(),
        "ICS Analyst (QZX)".into(),
        "QZX",
        Role::IcsAnalyst,
    ));
    users
}

/// Registers every tenant the gateway holds with the services that keep a register of
/// organisations (feedback, which refuses responses on its topic for any other code). Each is
/// registered as its own administrator, the gateway vouching for it. Answers how many.
pub async fn register_tenants(
    db: &DatabaseConnection,
    clients: &crate::clients::Clients,
) -> Result<usize, AppError> {
    let tenants = tenant::Entity::find().all(db).await?;
    for t in &tenants {
        let code = OdsCode::parse(&t.ods_code).map_err(|e| AppError::Internal(e.to_string()))?;
        let ics = match &t.parent {
            Some(icb) => Some(OdsCode::parse(icb).map_err(|e| AppError::Internal(e.to_string()))?),
            None => Some(code.clone()),
        };
        let gateway = alongside_platform::Caller {
            subject: "gateway".into(),
            tenant: code,
            role: Role::Admin,
            ics,
        };
        clients
            .feedback()
            .register_tenant(clients.request(
                &gateway,
                alongside_proto::feedback::v1::RegisterTenantRequest {},
            ))
            .await?;
    }
    Ok(tenants.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alongside_platform::testing::{Backend, TestDatabase};

    #[tokio::test]
    async fn an_icb_then_its_trusts_with_reasons_for_refusals() {
        let test_db = TestDatabase::create(Backend::Sqlite, "tenants").await;
        let db = alongside_platform::db::connect(&test_db.settings())
            .await
            .unwrap();
        alongside_platform::db::migrate::<crate::store::Migrator>(&db)
            .await
            .unwrap();

        let err = create_tenant(&db, "RXH", "Royal Sussex", Some("QNX"))
            .await
            .unwrap_err();
        assert!(err.contains("no ICB QNX yet"), "{err}");
        let err = create_tenant(&db, "RXH", "Royal Sussex", None)
            .await
            .unwrap_err();
        assert!(err.contains("--icb"), "{err}");
        let err = create_tenant(&db, "R!", "Nope", None).await.unwrap_err();
        assert!(err.starts_with("--ods-code"), "{err}");

        create_tenant(&db, "QNX", "Sussex ICB", None).await.unwrap();
        create_tenant(&db, "RXH", "Royal Sussex", Some("QNX"))
            .await
            .unwrap();
        let err = create_tenant(&db, "RYR", "Western Sussex", Some("RXH"))
            .await
            .unwrap_err();
        assert!(err.contains("is a trust, not an ICB"), "{err}");
        // Running it again renames, it does not duplicate.
        create_tenant(&db, "RXH", "University Hospitals Sussex", Some("QNX"))
            .await
            .unwrap();
        let trust = tenant::Entity::find_by_id("RXH".to_string())
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                trust.name.as_str(),
                trust.kind.as_str(),
                trust.parent.as_deref()
            ),
            ("University Hospitals Sussex", "trust", Some("QNX"))
        );
        assert!(tenant_exists(&db, "RXH").await.unwrap());
        assert!(!tenant_exists(&db, "RYR").await.unwrap());
    }
}
