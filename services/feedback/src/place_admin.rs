//! Keeping a trust's places: listing, adding and renaming (one, or many from a CSV file with a
//! preview), retiring, merging, the history of every change, and mapping the values held from
//! before the lists existed. Changes are made by administrators; each is recorded with who made
//! it. A merge or a mapping rewrites the responses it concerns and recounts the trust's figures
//! in the same transaction, and marks its months for the analytics stream.

use alongside_platform::error::Violations;
use alongside_platform::{audit, Caller, ServiceError};
use alongside_proto::feedback::v1::*;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::places::{self, change, check_code, held, place, statement, ACTIVE, MERGED, RETIRED};

pub const MAX_SAVE: usize = 2_000;
const MAX_HELD: u64 = 500;

fn to_proto(p: place::Model) -> Place {
    Place {
        kind: p.kind,
        code: p.code,
        name: p.name,
        status: p.status,
        merged_into: p.merged_into,
        changed_at: p.changed_at,
    }
}

fn kind_order(kind: &str) -> usize {
    places::KINDS
        .iter()
        .position(|(k, _)| *k == kind)
        .unwrap_or(places::KINDS.len())
}

/// The kind named by `field`, or a field error.
fn the_kind(v: &mut Violations, field: &str, value: &str) -> &'static str {
    match places::kind(value) {
        Some(k) => k,
        None => {
            v.push(field, "must be site, locality, pathway or team");
            ""
        }
    }
}

/// The kind a list is narrowed to: none when empty, or a field error.
fn any_kind(v: &mut Violations, value: &str) -> Option<&'static str> {
    (!value.trim().is_empty()).then(|| the_kind(v, "kind", value))
}

async fn find(
    db: &impl ConnectionTrait,
    caller: &Caller,
    kind: &str,
    code: &str,
) -> Result<Option<place::Model>, ServiceError> {
    Ok(place::Entity::find_by_id((
        caller.tenant.to_string(),
        kind.to_string(),
        code.trim().to_lowercase(),
    ))
    .one(db)
    .await?)
}

async fn record(
    db: &impl ConnectionTrait,
    caller: &Caller,
    at: &str,
    (kind, code): (&str, &str),
    action: &str,
    detail: String,
) -> Result<(), ServiceError> {
    change::Entity::insert(change::ActiveModel {
        tenant_id: Set(caller.tenant.to_string()),
        kind: Set(kind.to_string()),
        code: Set(code.to_string()),
        action: Set(action.to_string()),
        detail: Set(detail),
        by_user: Set(caller.subject.clone()),
        at: Set(at.to_string()),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    request: ListPlacesRequest,
) -> Result<PlaceList, ServiceError> {
    let mut v = Violations::default();
    let kind = any_kind(&mut v, &request.kind);
    v.finish()?;
    let mut select =
        place::Entity::find().filter(place::Column::TenantId.eq(caller.tenant.as_str()));
    if let Some(kind) = kind {
        select = select.filter(place::Column::Kind.eq(kind));
    }
    if !request.include_retired {
        select = select.filter(place::Column::Status.eq(ACTIVE));
    }
    let mut rows = select.order_by_asc(place::Column::CodeKey).all(db).await?;
    rows.sort_by_key(|p| kind_order(&p.kind));
    Ok(PlaceList {
        places: rows.into_iter().map(to_proto).collect(),
    })
}

/// One checked row of a save: (index, kind, code, name).
type Row = (u32, &'static str, String, String);

fn check_rows(request: &SavePlacesRequest) -> (Vec<Row>, Vec<RowError>) {
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (index, input) in request.places.iter().enumerate() {
        let index = index as u32;
        let mut fail = |field: &str, reason: String| {
            rejected.push(RowError {
                index,
                field: field.into(),
                reason,
            })
        };
        let kind = places::kind(&input.kind);
        if kind.is_none() {
            fail("kind", "must be site, locality, pathway or team".into());
        }
        let code = input.code.trim().to_string();
        if let Err(reason) = check_code(&code) {
            fail("code", reason.into());
        }
        let name = input.name.trim().to_string();
        if name.chars().count() > 100 || name.chars().any(char::is_control) {
            fail("name", "must be up to 100 characters on one line".into());
        }
        if let Some(kind) = kind {
            if let Some(first) = seen.insert((kind, code.to_lowercase()), index) {
                fail(
                    "code",
                    format!(
                        "is given twice: row {} has the same {kind} (rows count from 0)",
                        first
                    ),
                );
            }
            let name = if name.is_empty() { code.clone() } else { name };
            rows.push((index, kind, code, name));
        }
    }
    (rows, rejected)
}

/// Adds places or renames them; all or nothing.
pub async fn save(
    db: &DatabaseConnection,
    outbox: &alongside_events::Outbox,
    caller: &Caller,
    at: &str,
    request: SavePlacesRequest,
) -> Result<SavePlacesResponse, ServiceError> {
    let mut v = Violations::default();
    v.check(
        !request.places.is_empty() && request.places.len() <= MAX_SAVE,
        "places",
        "must hold 1 to 2,000 places",
    );
    v.finish()?;
    let (rows, mut rejected) = check_rows(&request);
    let txn = places::begin_writing(db).await?;
    let mut outcomes = Vec::new();
    let mut names = Vec::new();
    for (index, kind, code, name) in &rows {
        let held = find(&txn, caller, kind, code).await?;
        let outcome = match &held {
            None => "added",
            Some(p) if p.status == MERGED => {
                rejected.push(RowError {
                    index: *index,
                    field: "code".into(),
                    reason: format!(
                        "was merged into {}: it cannot be listed again",
                        p.merged_into
                    ),
                });
                continue;
            }
            Some(p) if p.name == *name => "unchanged",
            Some(_) => "renamed",
        };
        outcomes.push(PlaceOutcome {
            index: *index,
            kind: kind.to_string(),
            code: held
                .as_ref()
                .map(|p| p.code.clone())
                .unwrap_or(code.clone()),
            outcome: outcome.into(),
        });
        names.push(name);
    }
    rejected.sort_by_key(|r| r.index);
    if !rejected.is_empty() || request.dry_run {
        return Ok(SavePlacesResponse {
            outcomes: if rejected.is_empty() {
                outcomes
            } else {
                Vec::new()
            },
            rejected,
            saved: false,
        });
    }
    for (outcome, name) in outcomes.iter().zip(names) {
        let kind = outcome.kind.as_str();
        match outcome.outcome.as_str() {
            "added" => {
                place::Entity::insert(place::ActiveModel {
                    tenant_id: Set(caller.tenant.to_string()),
                    kind: Set(kind.to_string()),
                    code_key: Set(outcome.code.to_lowercase()),
                    code: Set(outcome.code.clone()),
                    name: Set(name.clone()),
                    status: Set(ACTIVE.into()),
                    merged_into: Set(String::new()),
                    changed_at: Set(at.to_string()),
                    announced: Set(true),
                })
                .on_conflict(
                    OnConflict::columns([
                        place::Column::TenantId,
                        place::Column::Kind,
                        place::Column::CodeKey,
                    ])
                    .update_columns([place::Column::Name, place::Column::ChangedAt])
                    .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
                record(
                    &txn,
                    caller,
                    at,
                    (kind, &outcome.code),
                    "added",
                    format!("as {name}"),
                )
                .await?;
            }
            "renamed" => {
                place::Entity::update_many()
                    .col_expr(place::Column::Name, Expr::value(name.clone()))
                    .col_expr(place::Column::ChangedAt, Expr::value(at))
                    .filter(place::Column::TenantId.eq(caller.tenant.as_str()))
                    .filter(place::Column::Kind.eq(kind))
                    .filter(place::Column::CodeKey.eq(outcome.code.to_lowercase()))
                    .exec(&txn)
                    .await?;
                record(
                    &txn,
                    caller,
                    at,
                    (kind, &outcome.code),
                    "renamed",
                    format!("to {name}"),
                )
                .await?;
            }
            _ => {}
        }
    }
    for (kind, _) in places::KINDS {
        let changed: Vec<String> = outcomes
            .iter()
            .filter(|o| o.kind == *kind && o.outcome != "unchanged")
            .map(|o| o.code.to_lowercase())
            .collect();
        if !changed.is_empty() {
            places::announce(&txn, outbox, &caller.tenant, kind, &changed).await?;
        }
    }
    txn.commit().await?;
    outbox.notify();
    Ok(SavePlacesResponse {
        outcomes,
        rejected,
        saved: true,
    })
}

/// Retires a place, or brings a retired one back.
pub async fn retire(
    db: &DatabaseConnection,
    outbox: &alongside_events::Outbox,
    caller: &Caller,
    at: &str,
    request: RetirePlaceRequest,
) -> Result<Place, ServiceError> {
    let mut v = Violations::default();
    let kind = the_kind(&mut v, "kind", &request.kind);
    v.finish()?;
    let txn = places::begin_writing(db).await?;
    let Some(p) = find(&txn, caller, kind, &request.code).await? else {
        return Err(ServiceError::not_found("place", request.code.trim()));
    };
    let (from, to, action) = if request.retired {
        (ACTIVE, RETIRED, "retired")
    } else {
        (RETIRED, ACTIVE, "restored")
    };
    if p.status == to {
        return Ok(to_proto(p));
    }
    if p.status != from {
        return Err(ServiceError::invalid(
            "code",
            format!(
                "{} was merged into {}: it cannot be {action}",
                p.code, p.merged_into
            ),
        ));
    }
    let mut active: place::ActiveModel = p.clone().into();
    active.status = Set(to.into());
    active.changed_at = Set(at.to_string());
    let saved = sea_orm::ActiveModelTrait::update(active, &txn).await?;
    record(&txn, caller, at, (kind, &p.code), action, String::new()).await?;
    places::announce(
        &txn,
        outbox,
        &caller.tenant,
        kind,
        std::slice::from_ref(&saved.code_key),
    )
    .await?;
    txn.commit().await?;
    outbox.notify();
    Ok(to_proto(saved))
}

/// Merges a place into another of its kind: its responses are rewritten to the other's code and
/// the trust's figures recounted, in one transaction.
pub async fn merge(
    db: &DatabaseConnection,
    outbox: &alongside_events::Outbox,
    caller: &Caller,
    at: &str,
    request: MergePlaceRequest,
) -> Result<Place, ServiceError> {
    let mut v = Violations::default();
    let kind = the_kind(&mut v, "kind", &request.kind);
    v.finish()?;
    let txn = places::begin_writing(db).await?;
    let from = find(&txn, caller, kind, &request.code).await?;
    let into = find(&txn, caller, kind, &request.into).await?;
    let mut v = Violations::default();
    match &from {
        None => v.push(
            "code",
            format!("is not one of the trust's places of kind {kind}"),
        ),
        Some(p) if p.status == MERGED => {
            v.push("code", format!("was merged into {} already", p.merged_into))
        }
        _ => {}
    }
    match (&into, &from) {
        (None, _) => v.push(
            "into",
            format!("is not one of the trust's places of kind {kind}"),
        ),
        (Some(i), Some(f)) if i.code_key == f.code_key => {
            v.push("into", "must be another place than the one merged")
        }
        (Some(i), _) if i.status != ACTIVE => v.push("into", format!("{} is {}", i.code, i.status)),
        _ => {}
    }
    v.finish()?;
    let (from, into) = (from.expect("checked"), into.expect("checked"));
    let filter = |q: sea_orm::UpdateMany<place::Entity>| {
        q.filter(place::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(place::Column::Kind.eq(kind))
    };
    filter(place::Entity::update_many())
        .col_expr(place::Column::Status, Expr::value(MERGED))
        .col_expr(place::Column::MergedInto, Expr::value(into.code.clone()))
        .col_expr(place::Column::ChangedAt, Expr::value(at))
        .filter(place::Column::CodeKey.eq(from.code_key.clone()))
        .exec(&txn)
        .await?;
    // Places merged into this one earlier now stand for the same place as it.
    filter(place::Entity::update_many())
        .col_expr(place::Column::MergedInto, Expr::value(into.code.clone()))
        .col_expr(place::Column::ChangedAt, Expr::value(at))
        .filter(place::Column::MergedInto.eq(from.code.clone()))
        .exec(&txn)
        .await?;
    let moved = txn
        .execute(statement(
            &txn,
            &format!("UPDATE fft_responses SET {kind} = ? WHERE tenant_id = ? AND {kind} = ?"),
            vec![
                into.code.clone().into(),
                caller.tenant.to_string().into(),
                from.code.clone().into(),
            ],
        ))
        .await?
        .rows_affected();
    places::recount(&txn, &caller.tenant).await?;
    let detail = format!("{moved} responses now count as {}", into.code);
    record(
        &txn,
        caller,
        at,
        (kind, &from.code),
        "merged",
        format!("into {}: {detail}", into.code),
    )
    .await?;
    record(
        &txn,
        caller,
        at,
        (kind, &into.code),
        "merged_from",
        format!("{}: {detail}", from.code),
    )
    .await?;
    // The place merged and every place merged into it earlier now stand for `into`.
    let now_into: Vec<String> = place::Entity::find()
        .filter(place::Column::TenantId.eq(caller.tenant.as_str()))
        .filter(place::Column::Kind.eq(kind))
        .filter(place::Column::MergedInto.eq(into.code.clone()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|p| p.code_key)
        .collect();
    places::announce(&txn, outbox, &caller.tenant, kind, &now_into).await?;
    let merged = find(&txn, caller, kind, &from.code)
        .await?
        .expect("just merged");
    txn.commit().await?;
    outbox.notify();
    Ok(to_proto(merged))
}

pub async fn history(
    db: &DatabaseConnection,
    caller: &Caller,
    request: ListPlaceHistoryRequest,
) -> Result<PlaceHistory, ServiceError> {
    let mut v = Violations::default();
    v.check(
        request.limit <= 500,
        "limit",
        "must be 1 to 500 (0 for 100)",
    );
    let kind = any_kind(&mut v, &request.kind);
    v.finish()?;
    let mut select =
        change::Entity::find().filter(change::Column::TenantId.eq(caller.tenant.as_str()));
    if let Some(kind) = kind {
        select = select.filter(change::Column::Kind.eq(kind));
    }
    if !request.code.trim().is_empty() {
        select = select.filter(change::Column::Code.eq(request.code.trim()));
    }
    let limit = if request.limit == 0 {
        100
    } else {
        request.limit
    };
    let rows = select
        .order_by_desc(change::Column::Id)
        .limit(u64::from(limit))
        .all(db)
        .await?;
    Ok(PlaceHistory {
        changes: rows
            .into_iter()
            .map(|c| PlaceChange {
                kind: c.kind,
                code: c.code,
                action: c.action,
                detail: c.detail,
                by: c.by_user,
                at: c.at,
            })
            .collect(),
    })
}

/// The values set aside, with how many responses carry each; the read is audited, as the values
/// may be what a respondent typed.
pub async fn held(db: &DatabaseConnection, caller: &Caller) -> Result<HeldPlaces, ServiceError> {
    let rows = db
        .query_all(statement(
            db,
            "SELECT kind, value, COUNT(*) AS n FROM place_held WHERE tenant_id = ? \
             GROUP BY kind, value ORDER BY kind, n DESC, value",
            vec![caller.tenant.to_string().into()],
        ))
        .await?;
    let mut all = Vec::with_capacity(rows.len());
    for row in &rows {
        all.push(HeldPlace {
            kind: row.try_get("", "kind")?,
            value: row.try_get("", "value")?,
            responses: row.try_get::<i64>("", "n")?.max(0) as u64,
        });
    }
    all.sort_by_key(|h| kind_order(&h.kind));
    let total_values = all.len() as u64;
    all.truncate(MAX_HELD as usize);
    audit::record(
        db,
        caller,
        "list",
        "held_place",
        &format!("{} values", all.len()),
    )
    .await?;
    Ok(HeldPlaces {
        held: all,
        total_values,
    })
}

/// Maps one held value to a listed place (or leaves it not known): its responses are rewritten
/// and the trust's figures recounted, in one transaction.
pub async fn map_held(
    db: &DatabaseConnection,
    caller: &Caller,
    at: &str,
    request: MapHeldPlaceRequest,
) -> Result<MapHeldPlaceResponse, ServiceError> {
    let mut v = Violations::default();
    let kind = the_kind(&mut v, "kind", &request.kind);
    v.finish()?;
    let txn = places::begin_writing(db).await?;
    let tenant = caller.tenant.to_string();
    let code = if request.code.trim().is_empty() {
        String::new()
    } else {
        let listed = places::Places::load(&txn, &caller.tenant).await?;
        listed
            .resolve(kind, &request.code)
            .map_err(|reason| ServiceError::invalid("code", reason))?
    };
    let held_rows = held::Entity::find()
        .filter(held::Column::TenantId.eq(tenant.as_str()))
        .filter(held::Column::Kind.eq(kind))
        .filter(held::Column::Value.eq(request.value.as_str()))
        .count(&txn)
        .await?;
    if held_rows == 0 {
        return Err(ServiceError::not_found("held value", "(as given)"));
    }
    if !code.is_empty() {
        txn.execute(statement(
            &txn,
            &format!(
                "UPDATE fft_responses SET {kind} = ? WHERE id IN (SELECT response_id FROM \
                 place_held WHERE tenant_id = ? AND kind = ? AND value = ?)"
            ),
            vec![
                code.clone().into(),
                tenant.clone().into(),
                kind.into(),
                request.value.clone().into(),
            ],
        ))
        .await?;
    }
    held::Entity::delete_many()
        .filter(held::Column::TenantId.eq(tenant.as_str()))
        .filter(held::Column::Kind.eq(kind))
        .filter(held::Column::Value.eq(request.value.as_str()))
        .exec(&txn)
        .await?;
    if !code.is_empty() {
        places::recount(&txn, &caller.tenant).await?;
    }
    // The value itself is not recorded: it may be what a respondent typed.
    let (subject, detail) = if code.is_empty() {
        (
            String::new(),
            format!("{held_rows} responses held from before the lists left as not known"),
        )
    } else {
        (
            code.clone(),
            format!("{held_rows} responses held from before the lists now count as {code}"),
        )
    };
    record(&txn, caller, at, (kind, &subject), "mapped", detail).await?;
    txn.commit().await?;
    Ok(MapHeldPlaceResponse {
        responses: held_rows,
    })
}
