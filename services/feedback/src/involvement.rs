//! Involvement on the analytics stream: engagement's confirmed attendance (from
//! `engagement.activities.v1`), kept at its latest revision, becomes each trust's month of
//! partner time — sessions, minutes, distinct partners, paid and expenses-only, by pathway and
//! kind — published as `<tenant>/involvement/<month>`, protected as engagement's report
//! protects the same month (`alongside_platform::involvement`). Partner ids are kept only to
//! count distinct partners; none is published.

use std::collections::{BTreeMap, BTreeSet};

use alongside_platform::involvement::{shown_month, Figures, Involved, Shown, KIND, PATHWAY, WAY};

use alongside_events::{Envelope, HandlerError};
use alongside_platform::OdsCode;
use alongside_proto::engagement::events::v1::{AttendanceCorrected, AttendanceRecorded};
use alongside_proto::feedback::events::v1::{InvolvementFigure, InvolvementInsight};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

pub mod attendance {
    use sea_orm::entity::prelude::*;

    /// One confirmed attendance as it stands at its latest revision.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "involvement_attendances")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub attendance_id: String,
        pub tenant_id: String,
        pub partner_id: String,
        /// YYYY-MM of the session.
        pub month: String,
        pub pathway: String,
        pub kind: String,
        pub minutes: i32,
        pub expenses_only: bool,
        pub revision: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

/// The key of a trust's involvement in a month.
pub fn key(tenant: &str, month: &str) -> String {
    format!("{tenant}/involvement/{month}")
}

/// Whether an event on the engagement topic is attendance (the rest is not involvement time).
pub fn is_attendance(event: &Envelope) -> bool {
    event.is::<AttendanceRecorded>() || event.is::<AttendanceCorrected>()
}

/// Rows a statement writes or asks for at once: well inside SQLite's and PostgreSQL's limits
/// on bound values.
const CHUNK: usize = 500;

/// Stores attendance events (the latest revision of each wins, in whatever order they come)
/// and marks their months for republishing, in the consumer's transaction: the batch is read
/// and written a few hundred rows a statement, not row by row.
pub async fn store(db: &impl ConnectionTrait, events: &[&Envelope]) -> Result<(), HandlerError> {
    // The latest revision of each attendance in the batch (the first of equal ones, as the
    // table keeps them), and every month the batch touches.
    let mut latest: BTreeMap<String, (i32, attendance::ActiveModel)> = BTreeMap::new();
    let mut marks: BTreeMap<String, (OdsCode, BTreeSet<String>)> = BTreeMap::new();
    for event in events {
        let a: AttendanceRecorded = if event.is::<AttendanceCorrected>() {
            let corrected: AttendanceCorrected = event.payload()?;
            corrected.attendance.ok_or_else(|| {
                HandlerError::Poison("AttendanceCorrected without its attendance".into())
            })?
        } else {
            event.payload()?
        };
        let month = a.activity_date.get(..7).unwrap_or_default().to_string();
        if a.attendance_id.is_empty() || month.len() != 7 {
            return Err(HandlerError::Poison(
                "attendance without an id or a date".into(),
            ));
        }
        let tenant = event.tenant();
        marks
            .entry(tenant.to_string())
            .or_insert_with(|| (tenant.clone(), BTreeSet::new()))
            .1
            .insert(month.clone());
        let revision = a.revision.max(1) as i32;
        if latest
            .get(&a.attendance_id)
            .is_some_and(|(kept, _)| *kept >= revision)
        {
            continue;
        }
        let row = attendance::ActiveModel {
            attendance_id: Set(a.attendance_id.clone()),
            tenant_id: Set(tenant.to_string()),
            partner_id: Set(a.partner_id),
            month: Set(month),
            pathway: Set(a.pathway),
            kind: Set(a.activity_kind),
            minutes: Set(a.minutes as i32),
            expenses_only: Set(a.expenses_only),
            revision: Set(revision),
        };
        latest.insert(a.attendance_id, (revision, row));
    }
    let mut rows: Vec<(String, attendance::ActiveModel)> =
        latest.into_iter().map(|(id, (_, row))| (id, row)).collect();
    while !rows.is_empty() {
        let chunk: Vec<_> = rows.drain(..CHUNK.min(rows.len())).collect();
        // A month an attendance moved out of changes too.
        let before = attendance::Entity::find()
            .filter(attendance::Column::AttendanceId.is_in(chunk.iter().map(|(id, _)| id.clone())))
            .all(db)
            .await?;
        for b in before {
            if let Some((_, months)) = marks.get_mut(&b.tenant_id) {
                months.insert(b.month);
            }
        }
        attendance::Entity::insert_many(chunk.into_iter().map(|(_, row)| row))
            .on_conflict(
                OnConflict::column(attendance::Column::AttendanceId)
                    .update_columns([
                        attendance::Column::Month,
                        attendance::Column::Pathway,
                        attendance::Column::Kind,
                        attendance::Column::Minutes,
                        attendance::Column::ExpensesOnly,
                        attendance::Column::Revision,
                    ])
                    // An older revision arriving late changes nothing.
                    .action_and_where(
                        Expr::col((attendance::Entity, attendance::Column::Revision))
                            .lt(Expr::cust("excluded.revision")),
                    )
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    for (_, (tenant, months)) in marks {
        crate::insights::mark(db, &tenant, &months).await?;
    }
    Ok(())
}

/// A trust's month of partner time; none when no time was given (nothing to say, or all of
/// it corrected away).
pub async fn insight(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    month_key: &str,
) -> Result<Option<InvolvementInsight>, DbErr> {
    let month = month_key;
    let rows = attendance::Entity::find()
        .filter(attendance::Column::TenantId.eq(tenant.as_str()))
        .filter(attendance::Column::Month.eq(month))
        .filter(attendance::Column::Minutes.gt(0))
        .all(db)
        .await?;
    if rows.is_empty() {
        let any = attendance::Entity::find()
            .filter(attendance::Column::TenantId.eq(tenant.as_str()))
            .filter(attendance::Column::Month.eq(month))
            .one(db)
            .await?;
        // Attendance corrected to nothing: the month is published empty, replacing its figures.
        return Ok(any.map(|_| InvolvementInsight {
            tenant: tenant.to_string(),
            month: month.into(),
            sessions: Some(0),
            partners: Some(0),
            paid_sessions: Some(0),
            expenses_only_sessions: Some(0),
            ..Default::default()
        }));
    }
    // The month as engagement's report builds it (by kind, pathway as typed, and way of
    // paying), protected the same way: so the stream hides what the report hides.
    let mut month = Figures::<Involved>::default();
    for a in &rows {
        let of = (a.kind.as_str(), a.pathway.as_str(), !a.expenses_only);
        month.attended(&a.partner_id, of, 1, a.minutes.max(0) as u64);
    }
    let month = shown_month(month, true);
    // Engagement's pathways were typed by staff: only the trust's listed ones are published,
    // by their code; the others together as not known (""), hidden when any of them is. The
    // same mapping as engagement's report and payments' spend (`Listed::publish`).
    let listed = crate::places::listed(db, tenant, "pathway").await?;
    let by_pathway = listed.publish(&month.by[PATHWAY], Shown::add);
    let way = |key: &str| month.by[WAY].get(key).cloned().unwrap_or_default();
    let sessions = |s: &Shown| (!s.hidden).then_some(s.figure.sessions);
    let total = &month.attended;
    Ok(Some(InvolvementInsight {
        tenant: tenant.to_string(),
        month: month_key.into(),
        sessions: sessions(total),
        minutes: (!total.hidden).then_some(total.figure.minutes),
        partners: (!total.hidden).then_some(total.figure.partners.len() as u64),
        paid_sessions: sessions(&way("paid")),
        expenses_only_sessions: sessions(&way("expenses_only")),
        by_pathway: figures(&by_pathway),
        by_kind: figures(&month.by[KIND]),
    }))
}

/// A list's figures as shown: a hidden one keeps only its key.
fn figures(shown: &BTreeMap<String, Shown>) -> Vec<InvolvementFigure> {
    shown
        .iter()
        .map(|(key, s)| InvolvementFigure {
            key: key.clone(),
            sessions: (!s.hidden).then_some(s.figure.sessions),
            minutes: (!s.hidden).then_some(s.figure.minutes),
            partners: (!s.hidden).then_some(s.figure.partners.len() as u64),
        })
        .collect()
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300002_involvement_attendances"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let text = |name: &str| {
                ColumnDef::new(Alias::new(name))
                    .string()
                    .not_null()
                    .to_owned()
            };
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("involvement_attendances"))
                        .if_not_exists()
                        .col(text("attendance_id").primary_key())
                        .col(text("tenant_id"))
                        .col(text("partner_id"))
                        .col(text("month"))
                        .col(text("pathway"))
                        .col(text("kind"))
                        .col(ColumnDef::new(Alias::new("minutes")).integer().not_null())
                        .col(
                            ColumnDef::new(Alias::new("expenses_only"))
                                .boolean()
                                .not_null(),
                        )
                        .col(ColumnDef::new(Alias::new("revision")).integer().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("involvement_attendances_by_month")
                        .table(Alias::new("involvement_attendances"))
                        .col(Alias::new("tenant_id"))
                        .col(Alias::new("month"))
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}
