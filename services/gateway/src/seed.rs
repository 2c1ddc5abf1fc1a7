//! Tenants and users: the demo ICS of the embedded run, and creating accounts.

use alongside_platform::{ids, Role};
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
    user::Entity::insert(user::ActiveModel {
        id: Set(ids::new_id(ids::USER)),
        email: Set(email.to_ascii_lowercase()),
        display_name: Set(display_name.to_string()),
        password_hash: Set(hash_password(password)?),
        tenant_id: Set(tenant.to_string()),
        role: Set(role.as_str().to_string()),
        partner_id: Set(partner_id),
        created_at: Set(alongside_platform::now_rfc3339()),
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
