//! Matching: a ranked shortlist of partners for an opportunity. Only partners who may take it —
//! active, contactable, eligible for its role on its date (training and checks in date, as the
//! People Bank publishes), not already on it — ranked so that paid work is shared fairly: fewest
//! paid sessions in the twelve months before it first, then the longest since their last, each
//! with its reasons in words. The lead confirms by assigning.
//!
//! Paid sessions are counted as attendance is recorded and corrected, per partner and month
//! (`partner_paid_months`), so a shortlist reads at most twelve rows a partner, not their whole
//! history; who is active and who holds the role on its date are counted as the read model
//! changes (`tallies`), and the list and the counts of who was left out are asked at once.

use alongside_platform::{Caller, OdsCode, ServiceError};
use alongside_proto::engagement::v1::{
    Shortlist, ShortlistEntry, ShortlistExcluded as Excluded, ShortlistRequest,
};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::store::opportunity;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

pub mod paid_month {
    use sea_orm::entity::prelude::*;

    /// Paid sessions a partner attended in a month, and the last one's date.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "partner_paid_months")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub partner_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub month: String,
        pub sessions: i32,
        pub last_on: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

/// Whether attending `minutes` of `opportunity` is a paid session.
pub fn paid(opportunity: &opportunity::Model, minutes: i32) -> bool {
    minutes > 0 && opportunity.remuneration != "expenses_only"
}

/// Counts one paid session more (or, with `delta` -1, one fewer) for a partner on a date.
pub async fn count(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    partner_id: &str,
    on: &str,
    delta: i32,
) -> Result<(), DbErr> {
    let month = on.get(..7).unwrap_or(on).to_string();
    let row = paid_month::ActiveModel {
        tenant_id: Set(tenant.to_string()),
        partner_id: Set(partner_id.to_string()),
        month: Set(month),
        sessions: Set(delta.max(0)),
        last_on: Set(if delta > 0 {
            on.to_string()
        } else {
            String::new()
        }),
    };
    use paid_month::Column as C;
    crate::tallies::add(
        db,
        row,
        [C::TenantId, C::PartnerId, C::Month],
        C::Sessions,
        delta,
    )
    .await?;
    if delta > 0 {
        // The latest paid date of the month, whatever order sessions are recorded in.
        paid_month::Entity::update_many()
            .col_expr(paid_month::Column::LastOn, Expr::value(on.to_string()))
            .filter(paid_month::Column::TenantId.eq(tenant.as_str()))
            .filter(paid_month::Column::PartnerId.eq(partner_id))
            .filter(paid_month::Column::Month.eq(on.get(..7).unwrap_or(on)))
            .filter(paid_month::Column::LastOn.lt(on))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// A value for LIKE ... ESCAPE '\': its wildcards taken literally.
fn like_escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn day_names(days: &[&str]) -> String {
    let name = |d: &str| match d {
        "mon" => "Mondays",
        "tue" => "Tuesdays",
        "wed" => "Wednesdays",
        "thu" => "Thursdays",
        "fri" => "Fridays",
        "sat" => "Saturdays",
        _ => "Sundays",
    };
    days.iter()
        .map(|d| name(d))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The twelve months before the opportunity's month, as (first, last) YYYY-MM.
fn window(starts_on: &str) -> (String, String) {
    let month = starts_on.get(..7).unwrap_or(starts_on);
    (
        alongside_platform::add_months(month, -12).unwrap_or_default(),
        alongside_platform::add_months(month, -1).unwrap_or_default(),
    )
}

pub async fn shortlist(
    db: &impl ConnectionTrait,
    caller: &Caller,
    opportunity: &opportunity::Model,
    request: &ShortlistRequest,
) -> Result<Shortlist, ServiceError> {
    let limit = match request.limit {
        0 => DEFAULT_LIMIT,
        n if n <= MAX_LIMIT => n,
        _ => {
            return Err(ServiceError::invalid(
                "limit",
                format!("must be 1 to {MAX_LIMIT}"),
            ))
        }
    };
    let tenant = caller.tenant.as_str();
    let (from, to) = window(&opportunity.starts_on);
    let sessions =
        crate::api::sessions_of(db, &caller.tenant, std::slice::from_ref(&opportunity.id)).await?;
    // The weekdays its sessions fall on: a partner who gave their days must have all of them.
    let mut weekdays: Vec<&str> = sessions
        .iter()
        .filter_map(|s| alongside_platform::parse_date(&s.on_date))
        .map(|d| crate::partner_side::DAYS[d.weekday().number_days_from_monday() as usize])
        .collect();
    weekdays.sort_unstable();
    weekdays.dedup();
    // With no pathway, a pattern no list holds (its values are never empty).
    let conflict_pattern = if opportunity.pathway.is_empty() {
        "%||%".to_string()
    } else {
        format!("%|{}|%", like_escape(&opportunity.pathway.to_lowercase()))
    };
    let kind_pattern = format!("%|{}|%", like_escape(&opportunity.kind));
    let unavailable_sql = if weekdays.is_empty() {
        "1 = 0".to_string()
    } else {
        format!(
            "(pp.days <> '' AND ({}))",
            weekdays
                .iter()
                .map(|d| format!("pp.days NOT LIKE '%|{d}|%'"))
                .collect::<Vec<_>>()
                .join(" OR ")
        )
    };
    let role = opportunity.required_role.as_str();
    let backend = db.get_database_backend();
    // The backend's placeholders for custom SQL, numbered from 1 within each expression.
    let p = |n: usize| match backend {
        sea_orm::DbBackend::Postgres => format!("${n}"),
        _ => "?".to_string(),
    };
    let conflict_sql = |n: usize| format!("pp.conflicts LIKE {} ESCAPE '\\'", p(n));
    // Who may take it: the same rules as assigning, as SQL.
    let may_take = |select: &mut sea_orm::sea_query::SelectStatement| {
        select.and_where(Expr::cust_with_values(
            format!(
                "NOT EXISTS (SELECT 1 FROM partner_preferences pp WHERE pp.tenant_id = kp.tenant_id \
                 AND pp.partner_id = kp.partner_id AND ({} OR {unavailable_sql}))",
                conflict_sql(1)
            ),
            [conflict_pattern.clone()],
        ));
        select
            .and_where(Expr::col((Alias::new("kp"), Alias::new("tenant_id"))).eq(tenant))
            .and_where(Expr::col((Alias::new("kp"), Alias::new("status"))).eq("active"))
            .and_where(Expr::col((Alias::new("kp"), Alias::new("contactable"))).eq(true))
            .and_where(Expr::cust_with_values(
                format!(
                    "NOT EXISTS (SELECT 1 FROM assignments a WHERE a.tenant_id = kp.tenant_id \
                     AND a.opportunity_id = {} AND a.partner_id = kp.partner_id)",
                    p(1)
                ),
                [opportunity.id.clone()],
            ));
        if !role.is_empty() {
            select.and_where(Expr::cust_with_values(
                format!(
                    "EXISTS (SELECT 1 FROM partner_eligibility e WHERE e.tenant_id = kp.tenant_id \
                     AND e.partner_id = kp.partner_id AND e.role = {} \
                     AND (e.valid_until = '' OR e.valid_until >= {}))",
                    p(1),
                    p(2)
                ),
                [role.to_string(), opportunity.starts_on.clone()],
            ));
        }
    };
    // When enough of them have had no paid session in the year, they are the list, in the order
    // the full ranking gives them (by id), found without adding up anyone's sessions.
    let mut unpaid = Query::select();
    unpaid
        .expr_as(
            Expr::col((Alias::new("kp"), Alias::new("partner_id"))),
            Alias::new("partner_id"),
        )
        .expr_as(
            Expr::col((Alias::new("kp"), Alias::new("locality"))),
            Alias::new("locality"),
        )
        .expr_as(Expr::cust("CAST(0 AS BIGINT)"), Alias::new("sessions"))
        .expr_as(Expr::cust("''"), Alias::new("last_on"))
        .from_as(Alias::new("known_partners"), Alias::new("kp"))
        .and_where(Expr::cust_with_values(
            format!(
                "NOT EXISTS (SELECT 1 FROM partner_paid_months m WHERE m.tenant_id = kp.tenant_id \
                 AND m.partner_id = kp.partner_id AND m.month >= {} AND m.month <= {})",
                p(1),
                p(2)
            ),
            [from.clone(), to.clone()],
        ));
    may_take(&mut unpaid);
    // Preferences fit next: interest in this opportunity, then a liking for its kind of work.
    let interested_sql = |n: usize| {
        format!(
            "EXISTS (SELECT 1 FROM partner_interest i WHERE i.opportunity_id = {} AND i.partner_id = kp.partner_id)",
            p(n)
        )
    };
    let prefers_sql = |n: usize| {
        format!(
            "EXISTS (SELECT 1 FROM partner_preferences pk WHERE pk.partner_id = kp.partner_id AND pk.kinds LIKE {} ESCAPE '\\')",
            p(n)
        )
    };
    // How well each fits: interested in it (2), likes its kind of work (1).
    let fit = |select: &mut sea_orm::sea_query::SelectStatement| {
        select
            .expr_as(
                Expr::cust_with_values(
                    format!("CASE WHEN {} THEN 1 ELSE 0 END", interested_sql(1)),
                    [opportunity.id.clone()],
                ),
                Alias::new("interested"),
            )
            .expr_as(
                Expr::cust_with_values(
                    format!("CASE WHEN {} THEN 1 ELSE 0 END", prefers_sql(1)),
                    [kind_pattern.clone()],
                ),
                Alias::new("prefers"),
            )
            .expr_as(
                Expr::cust_with_values(
                    format!(
                        "(CASE WHEN {} THEN 2 ELSE 0 END) + (CASE WHEN {} THEN 1 ELSE 0 END)",
                        interested_sql(1),
                        prefers_sql(2)
                    ),
                    [opportunity.id.clone(), kind_pattern.clone()],
                ),
                Alias::new("score"),
            );
    };
    // Among them, those who fit best first, each set found from its own small table: the
    // interested (by how well they fit), then those who like its kind of work, then the rest.
    let among = |set: String, values: Vec<sea_orm::Value>, by_score: bool, more: usize| {
        let mut select = unpaid.clone();
        fit(&mut select);
        select.and_where(Expr::cust_with_values(
            format!("kp.partner_id IN ({set})"),
            values,
        ));
        if by_score {
            select.order_by_expr(Expr::cust("score"), sea_orm::sea_query::Order::Desc);
        }
        select
            .order_by_expr(
                Expr::col((Alias::new("kp"), Alias::new("partner_id"))).into(),
                sea_orm::sea_query::Order::Asc,
            )
            .limit((limit as usize + more) as u64);
        select
    };
    // The list and the counts below ask different tables: both at once, on two connections.
    let list = async {
        let interested_rows = db
            .query_all(backend.build(&among(
                format!(
                    "SELECT i.partner_id FROM partner_interest i WHERE i.opportunity_id = {}",
                    p(1)
                ),
                vec![opportunity.id.clone().into()],
                true,
                0,
            )))
            .await?;
        let liking_rows = db
        .query_all(backend.build(&among(
            format!(
                "SELECT pk.partner_id FROM partner_preferences pk WHERE pk.tenant_id = {} AND pk.kinds LIKE {} ESCAPE '\\'",
                p(1),
                p(2)
            ),
            vec![tenant.into(), kind_pattern.clone().into()],
            false,
            interested_rows.len(),
        )))
        .await?;
        let mut seen = std::collections::HashSet::new();
        let mut unpaid_rows = Vec::new();
        for row in interested_rows.into_iter().chain(liking_rows) {
            if unpaid_rows.len() < limit as usize
                && seen.insert(row.try_get::<String>("", "partner_id")?)
            {
                unpaid_rows.push(row);
            }
        }
        if unpaid_rows.len() < limit as usize {
            let mut rest = unpaid.clone();
            rest.order_by_expr(
                Expr::col((Alias::new("kp"), Alias::new("partner_id"))).into(),
                sea_orm::sea_query::Order::Asc,
            )
            .limit(limit as u64 + seen.len() as u64);
            for row in db.query_all(backend.build(&rest)).await? {
                if unpaid_rows.len() == limit as usize {
                    break;
                }
                if seen.insert(row.try_get::<String>("", "partner_id")?) {
                    unpaid_rows.push(row);
                }
            }
        }
        let mut ranked = Query::select();
        ranked
            .expr_as(
                Expr::col((Alias::new("kp"), Alias::new("partner_id"))),
                Alias::new("partner_id"),
            )
            .expr_as(Expr::cust("MAX(kp.locality)"), Alias::new("locality"))
            .expr_as(
                Expr::cust("CAST(COALESCE(SUM(m.sessions), 0) AS BIGINT)"),
                Alias::new("sessions"),
            )
            .expr_as(
                Expr::cust("COALESCE(MAX(m.last_on), '')"),
                Alias::new("last_on"),
            )
            .from_as(Alias::new("known_partners"), Alias::new("kp"))
            .join_as(
                sea_orm::JoinType::LeftJoin,
                Alias::new("partner_paid_months"),
                Alias::new("m"),
                Expr::cust_with_values(
                    format!(
                        "m.tenant_id = kp.tenant_id AND m.partner_id = kp.partner_id \
                     AND m.month >= {} AND m.month <= {}",
                        p(1),
                        p(2)
                    ),
                    [from.clone(), to.clone()],
                ),
            );
        may_take(&mut ranked);
        fit(&mut ranked);
        ranked
            .add_group_by([Expr::col((Alias::new("kp"), Alias::new("partner_id"))).into()])
            .order_by_expr(Expr::cust("sessions"), sea_orm::sea_query::Order::Asc)
            .order_by_expr(Expr::cust("score"), sea_orm::sea_query::Order::Desc)
            .order_by_expr(Expr::cust("last_on"), sea_orm::sea_query::Order::Asc)
            .order_by_expr(
                Expr::col((Alias::new("kp"), Alias::new("partner_id"))).into(),
                sea_orm::sea_query::Order::Asc,
            )
            .limit(limit as u64);
        let fast = unpaid_rows.len() == limit as usize;
        Ok::<_, DbErr>(if fast {
            unpaid_rows
        } else {
            db.query_all(backend.build(&ranked)).await?
        })
    };

    // How many could, and why the others cannot: the partners who may be asked and hold the
    // role (or all who may be asked), less those already on it and those a declared conflict
    // or their days leave out.
    // Numbered placeholders for the statements written whole here: the order of values is
    // the numbers', whatever the order of the text.
    let q = |n: usize| match backend {
        sea_orm::DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    };
    let conflict_at = |n: usize| format!("pp.conflicts LIKE {} ESCAPE '\\'", q(n));
    let yes = if backend == sea_orm::DbBackend::Postgres {
        "TRUE"
    } else {
        "1"
    };
    let count = |sql: String, values: Vec<sea_orm::Value>| async move {
        let row = db
            .query_one(sea_orm::Statement::from_sql_and_values(
                backend, sql, values,
            ))
            .await?;
        Ok::<u64, DbErr>(
            row.map(|r| r.try_get::<i64>("", "n"))
                .transpose()?
                .unwrap_or(0)
                .max(0) as u64,
        )
    };
    // The role held on its date, as a join from the partner (placeholders from `n`).
    let holds = |n: usize| {
        if role.is_empty() {
            String::new()
        } else {
            format!(
                " JOIN partner_eligibility e ON e.partner_id = kp.partner_id AND e.tenant_id = kp.tenant_id \
                 AND e.role = {} AND (e.valid_until = '' OR e.valid_until >= {})",
                q(n),
                q(n + 1)
            )
        }
    };
    let role_values = || -> Vec<sea_orm::Value> {
        if role.is_empty() {
            vec![]
        } else {
            vec![role.into(), opportunity.starts_on.clone().into()]
        }
    };
    // Who is active (and of them who asked not to be contacted), and who may be asked and
    // holds the role on its date: kept as counts with the read model, not counted here.
    let counts = async {
        let (active, uncontactable) = crate::tallies::active(db, &caller.tenant).await?;
        let holding = if role.is_empty() {
            active.saturating_sub(uncontactable)
        } else {
            crate::tallies::holding(db, &caller.tenant, role, &opportunity.starts_on).await?
        };
        let on_it = {
            let mut values = role_values();
            values.push(opportunity.id.clone().into());
            count(
                format!(
                    "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM assignments a \
                 JOIN known_partners kp ON kp.partner_id = a.partner_id{} \
                 WHERE a.opportunity_id = {} AND kp.status = 'active' AND kp.contactable = {yes}",
                    holds(1),
                    q(if role.is_empty() { 1 } else { 3 })
                ),
                values,
            )
            .await?
        };
        // Of those who hold the role, who declared a conflict with its pathway, and who is not
        // available on its days.
        let (conflicted, unavailable) = {
            let first = if role.is_empty() { 1 } else { 3 };
            let mut values = role_values();
            values.extend([
                conflict_pattern.clone().into(),
                conflict_pattern.clone().into(),
                tenant.into(),
                opportunity.id.clone().into(),
            ]);
            let statement = sea_orm::Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT CAST(COALESCE(SUM(CASE WHEN {c1} THEN 1 ELSE 0 END), 0) AS BIGINT) AS conflicted, \
                 CAST(COALESCE(SUM(CASE WHEN NOT ({c2}) AND {unavailable_sql} THEN 1 ELSE 0 END), 0) AS BIGINT) AS unavailable \
                 FROM partner_preferences pp JOIN known_partners kp ON kp.partner_id = pp.partner_id{holds} \
                 WHERE pp.tenant_id = {t} AND ({c1} OR {unavailable_sql}) \
                 AND kp.status = 'active' AND kp.contactable = {yes} \
                 AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.opportunity_id = {o} AND a.partner_id = kp.partner_id)",
                holds = holds(1),
                c1 = conflict_at(first),
                c2 = conflict_at(first + 1),
                t = q(first + 2),
                o = q(first + 3),
            ),
            values,
        );
            let row = db.query_one(statement).await?;
            let get = |column: &str| {
                row.as_ref()
                    .and_then(|r| r.try_get::<i64>("", column).ok())
                    .unwrap_or(0)
                    .max(0) as u64
            };
            (get("conflicted"), get("unavailable"))
        };
        Ok::<_, DbErr>((
            active,
            uncontactable,
            holding,
            on_it,
            conflicted,
            unavailable,
        ))
    };
    let (rows, (active, uncontactable, holding, on_it, conflicted, unavailable)) =
        tokio::try_join!(list, counts)?;
    let eligible = holding.saturating_sub(on_it + conflicted + unavailable);
    // Places taken: the opportunity keeps the count of its assignments.
    let assigned = opportunity.filled.max(0) as u64;
    let mut excluded = Vec::new();
    if uncontactable > 0 {
        excluded.push(Excluded {
            reason: "asked not to be contacted about opportunities".into(),
            partners: uncontactable,
        });
    }
    if assigned > 0 {
        excluded.push(Excluded {
            reason: "already on this opportunity".into(),
            partners: assigned,
        });
    }
    if conflicted > 0 {
        excluded.push(Excluded {
            reason: format!(
                "declared a conflict of interest with the {} pathway",
                opportunity.pathway
            ),
            partners: conflicted,
        });
    }
    if unavailable > 0 {
        excluded.push(Excluded {
            reason: format!("not available on {}", day_names(&weekdays)),
            partners: unavailable,
        });
    }
    let unaccounted =
        active.saturating_sub(eligible + uncontactable + assigned + conflicted + unavailable);
    if !role.is_empty() && unaccounted > 0 {
        excluded.push(Excluded {
            reason: format!(
                "not eligible as {role} on {} (the role, or its training and checks in date)",
                opportunity.starts_on
            ),
            partners: unaccounted,
        });
    }

    let mut entries = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let partner_id: String = row.try_get("", "partner_id")?;
        let locality: String = row.try_get("", "locality")?;
        let sessions = row.try_get::<i64>("", "sessions")?.max(0) as u32;
        let last_on: String = row.try_get("", "last_on")?;
        let interested = row.try_get::<i32>("", "interested").unwrap_or(0) > 0;
        let prefers = row.try_get::<i32>("", "prefers").unwrap_or(0) > 0;
        let mut reasons = vec!["active, and has not asked to be left out".to_string()];
        if interested {
            reasons.push("said they are interested in this opportunity".into());
        }
        if prefers {
            reasons.push(format!(
                "prefers {} work",
                opportunity.kind.replace('_', " ")
            ));
        }
        if !role.is_empty() {
            reasons.push(format!("eligible as {role} on {}", opportunity.starts_on));
        }
        reasons.push(match sessions {
            0 => format!("no paid sessions from {from} to {to}: first in line"),
            1 => format!("1 paid session from {from} to {to}, on {last_on}"),
            n => format!("{n} paid sessions from {from} to {to}, the last on {last_on}"),
        });
        entries.push(ShortlistEntry {
            partner_id,
            rank: i as u32 + 1,
            paid_sessions: sessions,
            last_paid_on: last_on,
            locality,
            reasons,
        });
    }
    Ok(Shortlist {
        entries,
        considered: active,
        eligible,
        excluded,
    })
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_200006_partner_paid_months"
        }
    }

    #[derive(DeriveIden)]
    enum PartnerPaidMonths {
        Table,
        TenantId,
        PartnerId,
        Month,
        Sessions,
        LastOn,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            use PartnerPaidMonths as P;
            manager
                .create_table(
                    Table::create()
                        .table(P::Table)
                        .if_not_exists()
                        .col(ColumnDef::new(P::TenantId).string().not_null())
                        .col(ColumnDef::new(P::PartnerId).string().not_null())
                        .col(ColumnDef::new(P::Month).string().not_null())
                        .col(ColumnDef::new(P::Sessions).integer().not_null().default(0))
                        .col(ColumnDef::new(P::LastOn).string().not_null().default(""))
                        .primary_key(
                            Index::create()
                                .col(P::TenantId)
                                .col(P::PartnerId)
                                .col(P::Month),
                        )
                        .to_owned(),
                )
                .await?;
            // What was attended before the counts were kept.
            manager
                .get_connection()
                .execute_unprepared(
                    "INSERT INTO partner_paid_months (tenant_id, partner_id, month, sessions, last_on) \
                     SELECT a.tenant_id, a.partner_id, SUBSTR(a.activity_date, 1, 7), COUNT(*), MAX(a.activity_date) \
                     FROM attendances a JOIN opportunities o ON o.id = a.opportunity_id \
                     WHERE a.minutes > 0 AND o.remuneration <> 'expenses_only' \
                     GROUP BY a.tenant_id, a.partner_id, SUBSTR(a.activity_date, 1, 7)",
                )
                .await?;
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(PartnerPaidMonths::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_twelve_months_before() {
        assert_eq!(
            window("2026-12-03"),
            ("2025-12".to_string(), "2026-11".to_string())
        );
    }
}
