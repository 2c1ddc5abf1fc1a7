//! Staff requests: a clinical or admin team asks for partners for a piece of work, and the
//! engagement lead turns the request into an opportunity or declines it, saying why.

use alongside_platform::error::Violations;
use alongside_platform::paging::Page;
use alongside_platform::{ids, Caller, Clock, ServiceError};
use alongside_proto::engagement::v1::{
    CreateStaffRequestRequest, DeclineStaffRequestRequest, ListStaffRequestsRequest,
    ListStaffRequestsResponse, StaffRequest,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::schema::staff_request;
use crate::validate::KINDS;

impl From<staff_request::Model> for StaffRequest {
    fn from(m: staff_request::Model) -> Self {
        Self {
            id: m.id,
            title: m.title,
            team: m.team,
            pathway: m.pathway,
            description: m.description,
            kind: m.kind,
            places: m.places.max(0) as u32,
            needed_by: m.needed_by,
            status: m.status,
            opportunity_id: m.opportunity_id,
            decline_reason: m.decline_reason,
            created_at: m.created_at,
        }
    }
}

/// Trims a one-line field and checks its length.
pub(crate) fn line(
    v: &mut Violations,
    field: &str,
    value: &str,
    most: usize,
    required: bool,
) -> String {
    let value = value.trim().to_string();
    if required && value.is_empty() {
        v.push(field, "is required");
    } else if value.chars().count() > most || value.chars().any(char::is_control) {
        v.push(
            field,
            format!("must be up to {most} characters on one line"),
        );
    }
    value
}

/// Trims a text and checks its length.
pub(crate) fn text(
    v: &mut Violations,
    field: &str,
    value: &str,
    most: usize,
    required: bool,
) -> String {
    let value = value.trim().to_string();
    if required && value.is_empty() {
        v.push(field, "is required");
    } else if value.chars().count() > most {
        v.push(field, format!("must be {most} characters or fewer"));
    }
    value
}

/// A date as YYYY-MM-DD, or empty when not required.
pub(crate) fn date(v: &mut Violations, field: &str, value: &str, required: bool) -> String {
    let value = value.trim().to_string();
    if value.is_empty() {
        if required {
            v.push(field, "is required");
        }
    } else if alongside_platform::parse_date(&value).is_none() {
        v.push(field, alongside_platform::DATE_FORM);
    }
    value
}

pub async fn create(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
    r: CreateStaffRequestRequest,
) -> Result<StaffRequest, ServiceError> {
    let mut v = Violations::default();
    let title = line(&mut v, "title", &r.title, 200, true);
    let team = line(&mut v, "team", &r.team, 200, true);
    let pathway = line(&mut v, "pathway", &r.pathway, 100, false);
    let description = text(&mut v, "description", &r.description, 4_000, true);
    let kind = r.kind.trim().to_string();
    v.check(
        kind.is_empty() || KINDS.contains(&kind.as_str()),
        "kind",
        &format!("must be empty or one of {}", KINDS.join(", ")),
    );
    let places = if r.places == 0 { 1 } else { r.places };
    v.check(
        (1..=200).contains(&places),
        "places",
        "must be between 1 and 200",
    );
    let needed_by = date(&mut v, "needed_by", &r.needed_by, false);
    if !needed_by.is_empty() && needed_by < clock.today().to_string() {
        v.push("needed_by", "cannot be in the past");
    }
    v.finish()?;
    let row = staff_request::ActiveModel {
        id: Set(ids::new_id(ids::STAFF_REQUEST)),
        tenant_id: Set(caller.tenant.to_string()),
        title: Set(title),
        team: Set(team),
        pathway: Set(pathway),
        description: Set(description),
        kind: Set(kind),
        places: Set(places as i32),
        needed_by: Set(needed_by),
        status: Set("open".into()),
        opportunity_id: Set(String::new()),
        decline_reason: Set(String::new()),
        requested_by: Set(caller.subject.clone()),
        created_at: Set(clock.now_rfc3339()),
    };
    let model = staff_request::Entity::insert(row)
        .exec_with_returning(db)
        .await?;
    tracing::info!(request_id = %model.id, "staff request made");
    Ok(model.into())
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    r: ListStaffRequestsRequest,
) -> Result<ListStaffRequestsResponse, ServiceError> {
    let page = Page::from_request(r.page.as_ref())?;
    let mut query = staff_request::for_tenant(&caller.tenant);
    match r.status.as_str() {
        "" => {}
        s @ ("open" | "converted" | "declined") => {
            query = query.filter(staff_request::Column::Status.eq(s))
        }
        _ => {
            return Err(ServiceError::invalid(
                "status",
                "must be empty, open, converted or declined",
            ))
        }
    }
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(staff_request::Column::CreatedAt)
        .order_by_desc(staff_request::Column::Id)
        .offset(page.offset())
        .limit(page.limit())
        .all(db)
        .await?;
    Ok(ListStaffRequestsResponse {
        requests: rows.into_iter().map(Into::into).collect(),
        page: Some(page.info(total)),
    })
}

pub async fn decline(
    db: &DatabaseConnection,
    caller: &Caller,
    r: DeclineStaffRequestRequest,
) -> Result<StaffRequest, ServiceError> {
    let mut v = Violations::default();
    let reason = text(&mut v, "reason", &r.reason, 500, true);
    v.finish()?;
    let found = staff_request::for_tenant(&caller.tenant)
        .filter(staff_request::Column::Id.eq(&r.id))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("staff request", &r.id))?;
    let changed = staff_request::Entity::update_many()
        .col_expr(staff_request::Column::Status, Expr::value("declined"))
        .col_expr(
            staff_request::Column::DeclineReason,
            Expr::value(reason.clone()),
        )
        .filter(staff_request::Column::Id.eq(&found.id))
        .filter(staff_request::Column::Status.eq("open"))
        .exec(db)
        .await?
        .rows_affected;
    if changed == 0 {
        return Err(ServiceError::invalid(
            "id",
            format!("the request is {} already", found.status),
        ));
    }
    Ok(staff_request::Model {
        status: "declined".into(),
        decline_reason: reason,
        ..found
    }
    .into())
}
