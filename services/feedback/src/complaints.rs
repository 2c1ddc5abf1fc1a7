//! Complaints and the learning report. A complaint is recorded with the trust's own case
//! reference (its complaints system holds who complained), its dates, themes (the framework the
//! comments use, so complaints and feedback can be read together), outcome and learning. The
//! summary may hold personal detail: staff read it, every read audited; the learning report
//! carries figures and the learning written to be shared, nothing finer than a month.

use std::collections::BTreeMap;

use alongside_platform::error::Violations;
use alongside_platform::{audit, ids, parse_date, Caller, OdsCode, ServiceError};
use alongside_proto::feedback::v1::*;
use alongside_themes::framework;
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, PaginatorTrait, QueryOrder};

use crate::api::{check_period, is_month, FeedbackApi};
use crate::comments::split_codes;

pub const CHANNELS: &[&str] = &["letter", "email", "phone", "in_person", "online", "pals"];
pub const OUTCOMES: &[&str] = &["upheld", "partly_upheld", "not_upheld", "withdrawn"];
const TEXT_LIMIT: usize = 4_000;
const REFERENCE_LIMIT: usize = 40;
/// The complaints regulations (2009, reg. 13): acknowledged within three working days.
const ACKNOWLEDGE_WORKING_DAYS: i64 = 3;
/// The regulations' six months (reg. 14) for a response unless the complainant agrees longer.
const SIX_MONTHS_DAYS: i64 = 183;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub reference: String,
    pub received_on: String,
    /// YYYY-MM of received_on, for filtering by period.
    pub month: String,
    pub channel: String,
    pub site: String,
    pub pathway: String,
    pub team: String,
    /// Category codes between commas (",staff_manner,"), found with LIKE as the comments' are.
    pub categories: String,
    pub summary: String,
    pub acknowledged_on: String,
    pub closed_on: String,
    pub outcome: String,
    pub learning: String,
    pub actions: String,
    pub ombudsman: bool,
    pub recorded_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub fn for_tenant(tenant: &OdsCode) -> Select<Entity> {
    Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
}

fn to_proto(c: Model) -> Complaint {
    Complaint {
        categories: split_codes(&c.categories),
        id: c.id,
        reference: c.reference,
        received_on: c.received_on,
        channel: c.channel,
        site: c.site,
        pathway: c.pathway,
        team: c.team,
        summary: c.summary,
        acknowledged_on: c.acknowledged_on,
        closed_on: c.closed_on,
        outcome: c.outcome,
        learning: c.learning,
        actions: c.actions,
        ombudsman: c.ombudsman,
        recorded_by: c.recorded_by,
        updated_at: c.updated_at,
    }
}

/// A complaint's fields checked, trimmed and with its categories in the framework's order.
#[derive(Debug)]
struct Checked {
    reference: String,
    received: time::Date,
    channel: String,
    site: String,
    pathway: String,
    team: String,
    categories: String,
    summary: String,
    acknowledged_on: String,
    closed_on: String,
    outcome: String,
    learning: String,
    actions: String,
    ombudsman: bool,
}

/// Every problem with a complaint, named by field; dates must be in order and not in the future.
fn check(
    c: &Complaint,
    today: time::Date,
    places: &crate::places::Places,
) -> Result<Checked, ServiceError> {
    let mut v = Violations::default();
    let reference = c.reference.trim();
    v.check(!reference.is_empty(), "reference", "is required");
    v.check(
        reference.chars().count() <= REFERENCE_LIMIT,
        "reference",
        &format!("must be at most {REFERENCE_LIMIT} characters"),
    );
    let date = |v: &mut Violations, field: &str, value: &str, required: bool| {
        let value = value.trim();
        if value.is_empty() {
            v.check(!required, field, "is required");
            return None;
        }
        match parse_date(value) {
            None => {
                v.push(field, alongside_platform::DATE_FORM);
                None
            }
            Some(d) if d > today => {
                v.push(field, "cannot be in the future");
                None
            }
            Some(d) => Some(d),
        }
    };
    let received = date(&mut v, "received_on", &c.received_on, true);
    let acknowledged = date(&mut v, "acknowledged_on", &c.acknowledged_on, false);
    let closed = date(&mut v, "closed_on", &c.closed_on, false);
    if let Some(received) = received {
        for (field, d) in [("acknowledged_on", acknowledged), ("closed_on", closed)] {
            v.check(
                d.is_none_or(|d| d >= received),
                field,
                "cannot be before the date it was received",
            );
        }
    }
    v.check(
        CHANNELS.contains(&c.channel.as_str()),
        "channel",
        &format!("must be one of {}", CHANNELS.join(", ")),
    );
    // Only the trust's listed places (a retired one too): reports count complaints by them.
    let mut place = |field: &str, value: &str| {
        places
            .resolve_recorded(field, value)
            .unwrap_or_else(|reason| {
                v.push(field, reason);
                String::new()
            })
    };
    let (site, pathway, team) = (
        place("site", &c.site),
        place("pathway", &c.pathway),
        place("team", &c.team),
    );
    let mut chosen = Vec::new();
    for code in &c.categories {
        match framework::by_code(code) {
            Some(category) if !chosen.contains(&category) => chosen.push(category),
            Some(_) => {}
            None => v.push(
                "categories",
                format!("{code:?} is not a category of the framework"),
            ),
        }
    }
    v.check(
        !c.categories.is_empty(),
        "categories",
        "choose at least one theme",
    );
    chosen.sort_by_key(|c| framework::index_of(c.code));
    v.check(!c.summary.trim().is_empty(), "summary", "is required");
    for (field, value) in [
        ("summary", &c.summary),
        ("learning", &c.learning),
        ("actions", &c.actions),
    ] {
        v.check(
            value.chars().count() <= TEXT_LIMIT,
            field,
            &format!("must be at most {TEXT_LIMIT} characters"),
        );
    }
    let outcome = c.outcome.trim();
    v.check(
        outcome.is_empty() || OUTCOMES.contains(&outcome),
        "outcome",
        &format!("must be one of {}", OUTCOMES.join(", ")),
    );
    v.check(
        !(closed.is_some() && outcome.is_empty()),
        "outcome",
        "is needed when the complaint is closed",
    );
    v.check(
        !(closed.is_none() && !outcome.is_empty() && c.closed_on.trim().is_empty()),
        "closed_on",
        "is needed with an outcome",
    );
    v.check(
        !(matches!(outcome, "upheld" | "partly_upheld") && c.learning.trim().is_empty()),
        "learning",
        "is needed to close an upheld or partly upheld complaint",
    );
    v.finish()?;
    Ok(Checked {
        reference: reference.into(),
        received: received.expect("checked"),
        channel: c.channel.clone(),
        site,
        pathway,
        team,
        categories: crate::comments::join_codes(&chosen),
        summary: c.summary.trim().into(),
        acknowledged_on: c.acknowledged_on.trim().into(),
        closed_on: c.closed_on.trim().into(),
        outcome: outcome.into(),
        learning: c.learning.trim().into(),
        actions: c.actions.trim().into(),
        ombudsman: c.ombudsman,
    })
}

impl Checked {
    fn apply(self, row: &mut ActiveModel, now: &str) {
        row.reference = Set(self.reference);
        row.received_on = Set(self.received.to_string());
        row.month = Set(self.received.to_string()[..7].to_string());
        row.channel = Set(self.channel);
        row.site = Set(self.site);
        row.pathway = Set(self.pathway);
        row.team = Set(self.team);
        row.categories = Set(self.categories);
        row.summary = Set(self.summary);
        row.acknowledged_on = Set(self.acknowledged_on);
        row.closed_on = Set(self.closed_on);
        row.outcome = Set(self.outcome);
        row.learning = Set(self.learning);
        row.actions = Set(self.actions);
        row.ombudsman = Set(self.ombudsman);
        row.updated_at = Set(now.to_string());
    }
}

/// Whole working days (Monday to Friday, less England's bank holidays) after `from` up to and
/// including `to`.
pub use alongside_platform::calendar::working_days_between;

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// The first and last day of an inclusive range of months.
fn period_days(from_month: &str, to_month: &str) -> Option<(time::Date, time::Date)> {
    let first = parse_date(&format!("{from_month}-01"))?;
    Some((first, alongside_platform::last_day_of_month(to_month)?))
}

fn upheld(outcome: &str) -> bool {
    matches!(outcome, "upheld" | "partly_upheld")
}

/// The learning report of `rows` (the trust's complaints received up to the period's end) for
/// the period from `first` to `last`.
pub fn learning_report(
    rows: &[Model],
    from_month: &str,
    to_month: &str,
    first: time::Date,
    last: time::Date,
) -> LearningReport {
    let in_period = |d: &str| parse_date(d).is_some_and(|d| d >= first && d <= last);
    let mut report = LearningReport {
        from_month: from_month.into(),
        to_month: to_month.into(),
        ..Default::default()
    };
    let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
    let mut themes: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut pathways: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    let mut days_to_close = Vec::new();
    let mut learning = Vec::new();
    for c in rows {
        let Some(received) = parse_date(&c.received_on) else {
            continue;
        };
        if received > last {
            continue;
        }
        let closed = parse_date(&c.closed_on);
        if received >= first {
            report.received += 1;
            if parse_date(&c.acknowledged_on)
                .is_some_and(|a| working_days_between(received, a) <= ACKNOWLEDGE_WORKING_DAYS)
            {
                report.acknowledged_in_time += 1;
            }
            for code in split_codes(&c.categories) {
                let entry = themes.entry(code).or_default();
                entry.0 += 1;
                entry.1 += u64::from(upheld(&c.outcome));
            }
            let p = pathways.entry(c.pathway.as_str()).or_default();
            p.0 += 1;
            p.2 += u64::from(upheld(&c.outcome));
        }
        if in_period(&c.closed_on) {
            report.closed += 1;
            pathways.entry(c.pathway.as_str()).or_default().1 += 1;
            *outcomes.entry(c.outcome.as_str()).or_default() += 1;
            if let Some(closed) = closed {
                days_to_close.push((closed - received).whole_days() as f64);
            }
            if c.ombudsman {
                report.referred_to_ombudsman += 1;
            }
            if !c.learning.is_empty() {
                learning.push(LearningEntry {
                    closed_month: c.closed_on[..7].to_string(),
                    pathway: c.pathway.clone(),
                    categories: split_codes(&c.categories),
                    outcome: c.outcome.clone(),
                    learning: c.learning.clone(),
                    actions: c.actions.clone(),
                });
            }
        }
        if closed.is_none_or(|d| d > last) {
            report.open_at_end += 1;
            if (last - received).whole_days() > SIX_MONTHS_DAYS {
                report.open_over_six_months += 1;
            }
        }
    }
    report.median_days_to_close = median(&mut days_to_close);
    report.outcomes = OUTCOMES
        .iter()
        .map(|o| OutcomeCount {
            outcome: (*o).into(),
            count: outcomes.get(o).copied().unwrap_or(0),
        })
        .collect();
    let mut themes: Vec<ComplaintThemeCount> = themes
        .into_iter()
        .map(|(category, (received, upheld))| ComplaintThemeCount {
            category,
            received,
            upheld,
        })
        .collect();
    themes.sort_by(|a, b| {
        b.received
            .cmp(&a.received)
            .then_with(|| framework::index_of(&a.category).cmp(&framework::index_of(&b.category)))
    });
    report.themes = themes;
    report.pathways = pathways
        .into_iter()
        .map(|(pathway, (received, closed, upheld))| PathwayComplaints {
            pathway: pathway.into(),
            received,
            closed,
            upheld,
        })
        .collect();
    learning.sort_by(|a, b| b.closed_month.cmp(&a.closed_month));
    report.learning = learning;
    report
}

impl FeedbackApi {
    async fn find_complaint(&self, caller: &Caller, id: &str) -> Result<Model, ServiceError> {
        for_tenant(&caller.tenant)
            .filter(Column::Id.eq(id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("complaint", id))
    }

    async fn reference_taken(
        &self,
        caller: &Caller,
        reference: &str,
        except: &str,
    ) -> Result<(), ServiceError> {
        let taken = for_tenant(&caller.tenant)
            .filter(Column::Reference.eq(reference))
            .filter(Column::Id.ne(except))
            .count(&self.db)
            .await?;
        if taken > 0 {
            return Err(ServiceError::invalid(
                "reference",
                format!("{reference} is already recorded: open that complaint to change it"),
            ));
        }
        Ok(())
    }

    pub(crate) async fn record_complaint(
        &self,
        caller: &Caller,
        r: RecordComplaintRequest,
    ) -> Result<Complaint, ServiceError> {
        let c = r.complaint.unwrap_or_default();
        let places = crate::places::Places::load(&self.db, &caller.tenant).await?;
        let checked = check(&c, self.clock.today(), &places)?;
        self.reference_taken(caller, &checked.reference, "").await?;
        let now = self.clock.now_rfc3339();
        let id = ids::new_id(ids::COMPLAINT);
        let mut row = ActiveModel {
            id: Set(id.clone()),
            tenant_id: Set(caller.tenant.as_str().into()),
            recorded_by: Set(caller.subject.clone()),
            created_at: Set(now),
            ..Default::default()
        };
        checked.apply(&mut row, &self.clock.now_rfc3339());
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        let stored = row.insert(&txn).await?;
        audit::record(&txn, caller, "create", "complaint", &id).await?;
        txn.commit().await?;
        Ok(to_proto(stored))
    }

    pub(crate) async fn update_complaint(
        &self,
        caller: &Caller,
        r: UpdateComplaintRequest,
    ) -> Result<Complaint, ServiceError> {
        let c = r.complaint.unwrap_or_default();
        let found = self.find_complaint(caller, &c.id).await?;
        let places = crate::places::Places::load(&self.db, &caller.tenant).await?;
        let checked = check(&c, self.clock.today(), &places)?;
        self.reference_taken(caller, &checked.reference, &found.id)
            .await?;
        let mut row: ActiveModel = found.into();
        checked.apply(&mut row, &self.clock.now_rfc3339());
        let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
        let stored = row.update(&txn).await?;
        audit::record(&txn, caller, "update", "complaint", &c.id).await?;
        txn.commit().await?;
        Ok(to_proto(stored))
    }

    pub(crate) async fn get_complaint(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Complaint, ServiceError> {
        let found = self.find_complaint(caller, id).await?;
        audit::record(&self.db, caller, "read", "complaint", id).await?;
        Ok(to_proto(found))
    }

    pub(crate) async fn list_complaints(
        &self,
        caller: &Caller,
        r: ListComplaintsRequest,
    ) -> Result<ListComplaintsResponse, ServiceError> {
        let mut v = Violations::default();
        check_period(&mut v, &r.from_month, &r.to_month);
        v.check(
            matches!(r.status.as_str(), "" | "open" | "closed"),
            "status",
            "must be open or closed",
        );
        v.check(
            r.outcome.is_empty() || OUTCOMES.contains(&r.outcome.as_str()),
            "outcome",
            &format!("must be one of {}", OUTCOMES.join(", ")),
        );
        v.check(
            r.category.is_empty() || framework::by_code(&r.category).is_some(),
            "category",
            "is not a category of the framework",
        );
        v.check(
            matches!(r.sort.as_str(), "" | "newest" | "oldest" | "reference"),
            "sort",
            "must be newest, oldest or reference",
        );
        v.check(r.page_size <= 200, "page_size", "must be at most 200");
        v.finish()?;
        let mut query = for_tenant(&caller.tenant);
        if !r.from_month.is_empty() {
            query = query.filter(Column::Month.gte(&r.from_month));
        }
        if !r.to_month.is_empty() {
            query = query.filter(Column::Month.lte(&r.to_month));
        }
        match r.status.as_str() {
            "open" => query = query.filter(Column::ClosedOn.eq("")),
            "closed" => query = query.filter(Column::ClosedOn.ne("")),
            _ => {}
        }
        if !r.outcome.is_empty() {
            query = query.filter(Column::Outcome.eq(&r.outcome));
        }
        if !r.category.is_empty() {
            query = query.filter(Column::Categories.contains(format!(",{},", r.category)));
        }
        if !r.pathway.is_empty() {
            query = query.filter(Column::Pathway.eq(&r.pathway));
        }
        if !r.site.is_empty() {
            query = query.filter(Column::Site.eq(&r.site));
        }
        query = match r.sort.as_str() {
            "oldest" => query
                .order_by_asc(Column::ReceivedOn)
                .order_by_asc(Column::Id),
            "reference" => query.order_by_asc(Column::Reference),
            _ => query
                .order_by_desc(Column::ReceivedOn)
                .order_by_desc(Column::Id),
        };
        let page_size = if r.page_size == 0 { 25 } else { r.page_size } as u64;
        let paginator = query.paginate(&self.db, page_size);
        let total = paginator.num_items().await?;
        let rows = paginator.fetch_page(u64::from(r.page.max(1)) - 1).await?;
        let ids: Vec<String> = rows.iter().map(|c| c.id.clone()).collect();
        audit::record_each(&self.db, caller, "list", "complaint", &ids).await?;
        Ok(ListComplaintsResponse {
            complaints: rows.into_iter().map(to_proto).collect(),
            total,
        })
    }

    pub(crate) async fn learning_report_of(
        &self,
        caller: &Caller,
        r: GetLearningReportRequest,
    ) -> Result<LearningReport, ServiceError> {
        let mut v = Violations::default();
        v.check(!r.from_month.is_empty(), "from_month", "is required");
        v.check(!r.to_month.is_empty(), "to_month", "is required");
        check_period(&mut v, &r.from_month, &r.to_month);
        v.check(
            !(is_month(&r.from_month) && is_month(&r.to_month) && r.to_month < r.from_month),
            "to_month",
            "cannot be before the first month",
        );
        v.finish()?;
        let (first, last) = period_days(&r.from_month, &r.to_month)
            .ok_or_else(|| ServiceError::invalid("from_month", "is not a month"))?;
        let mut query = for_tenant(&caller.tenant).filter(Column::Month.lte(&r.to_month));
        if !r.pathway.is_empty() {
            query = query.filter(Column::Pathway.eq(&r.pathway));
        }
        let mut rows = query.all(&self.db).await?;
        // Pathways recorded before the trust listed its places count as not known.
        let places = crate::places::Places::load(&self.db, &caller.tenant).await?;
        for row in &mut rows {
            row.pathway = places
                .resolve_recorded("pathway", &row.pathway)
                .unwrap_or_default();
        }
        let mut report = learning_report(&rows, &r.from_month, &r.to_month, first, last);
        report.pathway = r.pathway;
        Ok(report)
    }
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300007_complaints"
        }
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum Complaints {
        Table,
        Id,
        TenantId,
        Reference,
        ReceivedOn,
        Month,
        Channel,
        Site,
        Pathway,
        Team,
        Categories,
        Summary,
        AcknowledgedOn,
        ClosedOn,
        Outcome,
        Learning,
        Actions,
        Ombudsman,
        RecordedBy,
        CreatedAt,
        UpdatedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            use Complaints::*;
            let mut table = sea_orm_migration::prelude::Table::create();
            table
                .table(Complaints::Table)
                .if_not_exists()
                .col(ColumnDef::new(Id).string().not_null().primary_key());
            for c in [
                TenantId,
                Reference,
                ReceivedOn,
                Month,
                Channel,
                Site,
                Pathway,
                Team,
                Categories,
                AcknowledgedOn,
                ClosedOn,
                Outcome,
                RecordedBy,
                CreatedAt,
                UpdatedAt,
            ] {
                table.col(ColumnDef::new(c).string().not_null());
            }
            for c in [Summary, Learning, Actions] {
                table.col(ColumnDef::new(c).text().not_null());
            }
            table.col(ColumnDef::new(Ombudsman).boolean().not_null());
            manager.create_table(table.to_owned()).await?;
            manager
                .create_index(
                    Index::create()
                        .name("complaints_by_reference")
                        .table(Complaints::Table)
                        .col(TenantId)
                        .col(Reference)
                        .unique()
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("complaints_by_month")
                        .table(Complaints::Table)
                        .col(TenantId)
                        .col(Month)
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(Complaints::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn listed() -> crate::places::Places {
        crate::places::Places::listing(&[("pathway", "MSK", crate::places::ACTIVE, "")])
    }

    fn complaint() -> Complaint {
        Complaint {
            reference: "C-001".into(),
            received_on: "2026-10-05".into(),
            channel: "email".into(),
            pathway: "MSK".into(),
            categories: vec!["kept_informed".into()],
            summary: "Letter arrived after the appointment".into(),
            ..Default::default()
        }
    }

    fn row(reference: &str, received: &str, ack: &str, closed: &str, outcome: &str) -> Model {
        Model {
            id: reference.into(),
            tenant_id: "RZA".into(),
            reference: reference.into(),
            received_on: received.into(),
            month: received[..7].into(),
            channel: "email".into(),
            site: String::new(),
            pathway: "MSK".into(),
            team: String::new(),
            categories: ",kept_informed,".into(),
            summary: String::new(),
            acknowledged_on: ack.into(),
            closed_on: closed.into(),
            outcome: outcome.into(),
            learning: if outcome.is_empty() {
                String::new()
            } else {
                format!("learning from {reference}")
            },
            actions: String::new(),
            ombudsman: false,
            recorded_by: String::new(),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn problems(c: &Complaint) -> Vec<(String, String)> {
        match check(c, date!(2026 - 11 - 30), &listed()) {
            Err(ServiceError::Invalid(errors)) => {
                errors.into_iter().map(|e| (e.field, e.reason)).collect()
            }
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn working_days_skip_weekends_and_bank_holidays() {
        // Friday 2026-10-02 → Wednesday 2026-10-07: Monday, Tuesday, Wednesday.
        assert_eq!(
            working_days_between(date!(2026 - 10 - 02), date!(2026 - 10 - 07)),
            3
        );
        // Received on the Friday before the summer bank holiday: Tuesday to Thursday.
        assert_eq!(
            working_days_between(date!(2026 - 08 - 28), date!(2026 - 09 - 03)),
            3
        );
    }

    #[test]
    fn a_complaint_is_checked_field_by_field() {
        assert!(check(&complaint(), date!(2026 - 11 - 30), &listed()).is_ok());
        let found = problems(&Complaint {
            reference: String::new(),
            received_on: "2026-12-25".into(),
            channel: "fax".into(),
            categories: vec!["nonsense".into()],
            ..complaint()
        });
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["reference", "received_on", "channel", "categories"],
            "{found:?}"
        );
        assert_eq!(found[1].1, "cannot be in the future");

        let found = problems(&Complaint {
            acknowledged_on: "2026-10-01".into(),
            closed_on: "2026-11-01".into(),
            outcome: "upheld".into(),
            ..complaint()
        });
        assert_eq!(
            found,
            [
                (
                    "acknowledged_on".into(),
                    "cannot be before the date it was received".into()
                ),
                (
                    "learning".into(),
                    "is needed to close an upheld or partly upheld complaint".into()
                )
            ]
        );
        let found = problems(&Complaint {
            closed_on: "2026-11-01".into(),
            ..complaint()
        });
        assert_eq!(found[0].0, "outcome");
        let found = problems(&Complaint {
            outcome: "not_upheld".into(),
            ..complaint()
        });
        assert_eq!(
            found[0],
            ("closed_on".into(), "is needed with an outcome".into())
        );
    }

    #[test]
    fn the_learning_report_counts_a_period_as_the_regulations_ask() {
        let rows = [
            // Received in the period, acknowledged on the 3rd working day, closed upheld.
            row("A", "2026-10-02", "2026-10-07", "2026-10-22", "upheld"),
            // Received in the period, acknowledged on the 4th working day, still open.
            row("B", "2026-10-02", "2026-10-08", "", ""),
            // Received before, closed in the period, not upheld.
            row("C", "2026-03-02", "2026-03-03", "2026-10-12", "not_upheld"),
            // Received long before and still open: over six months.
            row("D", "2026-01-05", "2026-01-06", "", ""),
            // Closed after the period: open at its end.
            row("E", "2026-10-20", "", "2026-11-03", "partly_upheld"),
            // After the period: not counted at all.
            row("F", "2026-11-02", "2026-11-02", "", ""),
        ];
        let r = learning_report(
            &rows,
            "2026-10",
            "2026-10",
            date!(2026 - 10 - 01),
            date!(2026 - 10 - 31),
        );
        assert_eq!(r.received, 3, "A, B and E");
        assert_eq!(r.acknowledged_in_time, 1, "only A within 3 working days");
        assert_eq!(r.closed, 2, "A and C");
        // A: 20 days, C: 224 days.
        assert_eq!(r.median_days_to_close, Some(122.0));
        assert_eq!(r.open_at_end, 3, "B, D and E");
        assert_eq!(r.open_over_six_months, 1, "D");
        let count = |o: &str| r.outcomes.iter().find(|x| x.outcome == o).unwrap().count;
        assert_eq!((count("upheld"), count("not_upheld")), (1, 1));
        assert_eq!(
            r.themes,
            [ComplaintThemeCount {
                category: "kept_informed".into(),
                received: 3,
                upheld: 2,
            }],
            "E is partly upheld later, and counts as upheld in its theme"
        );
        assert_eq!(r.learning.len(), 2);
        assert!(r.learning.iter().all(|l| l.closed_month == "2026-10"));
    }

    #[test]
    fn a_period_runs_from_its_first_day_to_its_last() {
        assert_eq!(
            period_days("2026-11", "2026-12"),
            Some((date!(2026 - 11 - 01), date!(2026 - 12 - 31)))
        );
        assert_eq!(
            period_days("2024-02", "2024-02"),
            Some((date!(2024 - 02 - 01), date!(2024 - 02 - 29)))
        );
    }
}
