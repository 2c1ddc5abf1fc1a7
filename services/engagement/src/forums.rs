//! Forums: a standing group of partners with its members, its meetings (agenda, the issue
//! looked at in depth, minutes) and the actions agreed, each with an owner and a due date.

use alongside_platform::error::Violations;
use alongside_platform::{ids, Caller, Clock, ServiceError};
use alongside_proto::engagement::v1::{
    CreateForumRequest, Forum, ForumAction, ForumDetail, ForumMeeting, ForumMember,
    ListForumsResponse, SaveForumActionRequest, SaveForumMeetingRequest, SetForumMemberRequest,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

use crate::requests::{date, line, text};
use crate::schema::{action, forum, forum_member, meeting};
use crate::store::{known_partner, opportunity};

fn meeting_out(m: meeting::Model) -> ForumMeeting {
    ForumMeeting {
        id: m.id,
        forum_id: m.forum_id,
        held_on: m.held_on,
        focus: m.focus,
        agenda: m.agenda,
        minutes: m.minutes,
        opportunity_id: m.opportunity_id,
    }
}

fn action_out(a: action::Model) -> ForumAction {
    ForumAction {
        id: a.id,
        forum_id: a.forum_id,
        meeting_id: a.meeting_id,
        action: a.action,
        owner: a.owner,
        due_on: a.due_on,
        status: a.status,
        done_on: a.done_on,
    }
}

async fn find(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
) -> Result<forum::Model, ServiceError> {
    forum::for_tenant(&caller.tenant)
        .filter(forum::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("forum", id))
}

pub async fn create(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
    r: CreateForumRequest,
) -> Result<Forum, ServiceError> {
    let mut v = Violations::default();
    let name = line(&mut v, "name", &r.name, 200, true);
    let pathway = line(&mut v, "pathway", &r.pathway, 100, false);
    let description = text(&mut v, "description", &r.description, 4_000, false);
    v.finish()?;
    let model = forum::Entity::insert(forum::ActiveModel {
        id: Set(ids::new_id(ids::FORUM)),
        tenant_id: Set(caller.tenant.to_string()),
        name: Set(name),
        pathway: Set(pathway),
        description: Set(description),
        created_at: Set(clock.now_rfc3339()),
    })
    .exec_with_returning(db)
    .await?;
    Ok(summary(model, 0, String::new(), 0))
}

fn summary(f: forum::Model, members: u32, next: String, open: u32) -> Forum {
    Forum {
        id: f.id,
        name: f.name,
        pathway: f.pathway,
        description: f.description,
        members,
        next_meeting_on: next,
        open_actions: open,
    }
}

pub async fn list(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
) -> Result<ListForumsResponse, ServiceError> {
    let forums = forum::for_tenant(&caller.tenant)
        .order_by_asc(forum::Column::Name)
        .all(db)
        .await?;
    let members = forum_member::for_tenant(&caller.tenant).all(db).await?;
    let today = clock.today().to_string();
    let upcoming = meeting::for_tenant(&caller.tenant)
        .filter(meeting::Column::HeldOn.gte(today.as_str()))
        .order_by_asc(meeting::Column::HeldOn)
        .all(db)
        .await?;
    let open = action::for_tenant(&caller.tenant)
        .filter(action::Column::Status.eq("open"))
        .all(db)
        .await?;
    Ok(ListForumsResponse {
        forums: forums
            .into_iter()
            .map(|f| {
                let n = members.iter().filter(|m| m.forum_id == f.id).count() as u32;
                let next = upcoming
                    .iter()
                    .find(|m| m.forum_id == f.id)
                    .map(|m| m.held_on.clone())
                    .unwrap_or_default();
                let o = open.iter().filter(|a| a.forum_id == f.id).count() as u32;
                summary(f, n, next, o)
            })
            .collect(),
    })
}

pub async fn detail(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
    id: &str,
) -> Result<ForumDetail, ServiceError> {
    let f = find(db, caller, id).await?;
    let members = forum_member::for_tenant(&caller.tenant)
        .filter(forum_member::Column::ForumId.eq(&f.id))
        .order_by_asc(forum_member::Column::JoinedOn)
        .all(db)
        .await?;
    let meetings = meeting::for_tenant(&caller.tenant)
        .filter(meeting::Column::ForumId.eq(&f.id))
        .order_by_desc(meeting::Column::HeldOn)
        .all(db)
        .await?;
    let actions = action::for_tenant(&caller.tenant)
        .filter(action::Column::ForumId.eq(&f.id))
        .order_by_asc(action::Column::Status)
        .order_by_asc(action::Column::DueOn)
        .all(db)
        .await?;
    let today = clock.today().to_string();
    let next = meetings
        .iter()
        .filter(|m| m.held_on >= today)
        .map(|m| m.held_on.clone())
        .min()
        .unwrap_or_default();
    let open = actions.iter().filter(|a| a.status == "open").count() as u32;
    Ok(ForumDetail {
        forum: Some(summary(f, members.len() as u32, next, open)),
        members: members
            .into_iter()
            .map(|m| ForumMember {
                partner_id: m.partner_id,
                role: m.role,
                joined_on: m.joined_on,
            })
            .collect(),
        meetings: meetings.into_iter().map(meeting_out).collect(),
        actions: actions.into_iter().map(action_out).collect(),
    })
}

pub async fn set_member(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
    r: SetForumMemberRequest,
) -> Result<ForumDetail, ServiceError> {
    let f = find(db, caller, &r.forum_id).await?;
    if r.role.is_empty() {
        forum_member::Entity::delete_many()
            .filter(forum_member::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(forum_member::Column::ForumId.eq(&f.id))
            .filter(forum_member::Column::PartnerId.eq(&r.partner_id))
            .exec(db)
            .await?;
        return detail(db, clock, caller, &f.id).await;
    }
    if !["member", "chair"].contains(&r.role.as_str()) {
        return Err(ServiceError::invalid(
            "role",
            "must be member or chair (empty removes them)",
        ));
    }
    let partner = known_partner::for_tenant(&caller.tenant)
        .filter(known_partner::Column::PartnerId.eq(&r.partner_id))
        .one(db)
        .await?;
    match partner {
        None => {
            return Err(ServiceError::invalid(
                "partner_id",
                "is not a partner of this trust",
            ))
        }
        Some(p) if p.status != "active" => {
            return Err(ServiceError::invalid(
                "partner_id",
                format!("partner is {}, not active", p.status),
            ))
        }
        Some(_) => {}
    }
    forum_member::Entity::insert(forum_member::ActiveModel {
        forum_id: Set(f.id.clone()),
        partner_id: Set(r.partner_id.clone()),
        tenant_id: Set(caller.tenant.to_string()),
        role: Set(r.role.clone()),
        joined_on: Set(clock.today().to_string()),
    })
    .on_conflict(
        OnConflict::columns([
            forum_member::Column::ForumId,
            forum_member::Column::PartnerId,
        ])
        .update_column(forum_member::Column::Role)
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    detail(db, clock, caller, &f.id).await
}

pub async fn save_meeting(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
    r: SaveForumMeetingRequest,
) -> Result<ForumMeeting, ServiceError> {
    let f = find(db, caller, &r.forum_id).await?;
    let mut v = Violations::default();
    let held_on = date(&mut v, "held_on", &r.held_on, true);
    let focus = line(&mut v, "focus", &r.focus, 300, false);
    let agenda = text(&mut v, "agenda", &r.agenda, 4_000, false);
    let minutes = text(&mut v, "minutes", &r.minutes, 20_000, false);
    if !minutes.is_empty() && held_on > clock.today().to_string() {
        v.push(
            "minutes",
            "minutes are written after the meeting: it is still to come",
        );
    }
    v.finish()?;
    let opportunity_id = r.opportunity_id.trim().to_string();
    if !opportunity_id.is_empty()
        && opportunity::for_tenant(&caller.tenant)
            .filter(opportunity::Column::Id.eq(&opportunity_id))
            .one(db)
            .await?
            .is_none()
    {
        return Err(ServiceError::invalid(
            "opportunity_id",
            "is not an opportunity of this trust",
        ));
    }
    let existing = if r.id.is_empty() {
        None
    } else {
        Some(
            meeting::for_tenant(&caller.tenant)
                .filter(meeting::Column::Id.eq(&r.id))
                .filter(meeting::Column::ForumId.eq(&f.id))
                .one(db)
                .await?
                .ok_or_else(|| ServiceError::not_found("meeting", &r.id))?,
        )
    };
    let model = meeting::Model {
        id: existing.map_or_else(|| ids::new_id(ids::MEETING), |m| m.id),
        tenant_id: caller.tenant.to_string(),
        forum_id: f.id,
        held_on,
        focus,
        agenda,
        minutes,
        opportunity_id,
    };
    meeting::Entity::insert(meeting::ActiveModel {
        id: Set(model.id.clone()),
        tenant_id: Set(model.tenant_id.clone()),
        forum_id: Set(model.forum_id.clone()),
        held_on: Set(model.held_on.clone()),
        focus: Set(model.focus.clone()),
        agenda: Set(model.agenda.clone()),
        minutes: Set(model.minutes.clone()),
        opportunity_id: Set(model.opportunity_id.clone()),
    })
    .on_conflict(
        OnConflict::column(meeting::Column::Id)
            .update_columns([
                meeting::Column::HeldOn,
                meeting::Column::Focus,
                meeting::Column::Agenda,
                meeting::Column::Minutes,
                meeting::Column::OpportunityId,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(meeting_out(model))
}

pub async fn save_action(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
    r: SaveForumActionRequest,
) -> Result<ForumAction, ServiceError> {
    let f = find(db, caller, &r.forum_id).await?;
    let existing = if r.id.is_empty() {
        None
    } else {
        Some(
            action::for_tenant(&caller.tenant)
                .filter(action::Column::Id.eq(&r.id))
                .filter(action::Column::ForumId.eq(&f.id))
                .one(db)
                .await?
                .ok_or_else(|| ServiceError::not_found("action", &r.id))?,
        )
    };
    let mut v = Violations::default();
    // Marking an action done may send only its id and status.
    let pick = |given: &str, kept: Option<&String>| {
        if given.trim().is_empty() {
            kept.cloned().unwrap_or_default()
        } else {
            given.to_string()
        }
    };
    let what = line(
        &mut v,
        "action",
        &pick(&r.action, existing.as_ref().map(|a| &a.action)),
        500,
        true,
    );
    let owner = line(
        &mut v,
        "owner",
        &pick(&r.owner, existing.as_ref().map(|a| &a.owner)),
        100,
        true,
    );
    let due_on = date(
        &mut v,
        "due_on",
        &pick(&r.due_on, existing.as_ref().map(|a| &a.due_on)),
        true,
    );
    let status = match r.status.as_str() {
        "" => existing
            .as_ref()
            .map_or("open".to_string(), |a| a.status.clone()),
        s @ ("open" | "done") => s.to_string(),
        _ => {
            v.push("status", "must be open or done");
            String::new()
        }
    };
    let meeting_id = pick(&r.meeting_id, existing.as_ref().map(|a| &a.meeting_id));
    v.finish()?;
    if !meeting_id.is_empty()
        && meeting::for_tenant(&caller.tenant)
            .filter(meeting::Column::Id.eq(&meeting_id))
            .filter(meeting::Column::ForumId.eq(&f.id))
            .one(db)
            .await?
            .is_none()
    {
        return Err(ServiceError::invalid(
            "meeting_id",
            "is not a meeting of this forum",
        ));
    }
    let done_on = match (&existing, status.as_str()) {
        (_, "open") => String::new(),
        (Some(a), _) if a.status == "done" => a.done_on.clone(),
        _ => clock.today().to_string(),
    };
    let model = action::Model {
        id: existing.map_or_else(|| ids::new_id(ids::ACTION), |a| a.id),
        tenant_id: caller.tenant.to_string(),
        forum_id: f.id,
        meeting_id,
        action: what,
        owner,
        due_on,
        status,
        done_on,
    };
    action::Entity::insert(action::ActiveModel {
        id: Set(model.id.clone()),
        tenant_id: Set(model.tenant_id.clone()),
        forum_id: Set(model.forum_id.clone()),
        meeting_id: Set(model.meeting_id.clone()),
        action: Set(model.action.clone()),
        owner: Set(model.owner.clone()),
        due_on: Set(model.due_on.clone()),
        status: Set(model.status.clone()),
        done_on: Set(model.done_on.clone()),
    })
    .on_conflict(
        OnConflict::column(action::Column::Id)
            .update_columns([
                action::Column::MeetingId,
                action::Column::Action,
                action::Column::Owner,
                action::Column::DueOn,
                action::Column::Status,
                action::Column::DoneOn,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(action_out(model))
}
