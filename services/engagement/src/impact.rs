//! The impact log, "you said, we did": what partners raised, what changed because of it, the
//! evidence and when, per pathway, linked to the opportunities it came from and the feedback
//! themes it answers. Written to be shared with a board: no names.

use alongside_platform::error::Violations;
use alongside_platform::paging::Page;
use alongside_platform::{ids, Caller, Clock, ServiceError};
use alongside_proto::engagement::v1::{
    Impact, ListImpactRequest, ListImpactResponse, RecordImpactRequest,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::store::opportunity;

const TEXT_LIMIT: usize = 2_000;
const LINKS: usize = 10;

pub mod entry {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "impact_log")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub raised: String,
        pub changed: String,
        pub evidence: String,
        pub changed_on: String,
        pub pathway: String,
        /// Opportunity ids, one per line.
        pub opportunity_ids: String,
        /// Theme codes, one per line.
        pub themes: String,
        pub recorded_at: String,
        pub recorded_by: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}

    /// Every query of the log starts here, so no query can forget the tenant.
    pub fn for_tenant(tenant: &alongside_platform::OdsCode) -> Select<Entity> {
        Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
    }
}

fn lines(value: &str) -> Vec<String> {
    value
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

impl From<entry::Model> for Impact {
    fn from(m: entry::Model) -> Self {
        Self {
            id: m.id,
            raised: m.raised,
            changed: m.changed,
            evidence: m.evidence,
            changed_on: m.changed_on,
            pathway: m.pathway,
            opportunity_ids: lines(&m.opportunity_ids),
            themes: lines(&m.themes),
            recorded_at: m.recorded_at,
        }
    }
}

fn text(v: &mut Violations, field: &str, value: &str, required: bool) -> String {
    crate::requests::text(v, field, value, TEXT_LIMIT, required)
}

pub async fn record(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    caller: &Caller,
    r: RecordImpactRequest,
) -> Result<Impact, ServiceError> {
    let mut v = Violations::default();
    let raised = text(&mut v, "raised", &r.raised, true);
    let changed = text(&mut v, "changed", &r.changed, true);
    let evidence = text(&mut v, "evidence", &r.evidence, false);
    let today = clock.today().to_string();
    let changed_on = r.changed_on.trim().to_string();
    match alongside_platform::parse_date(&changed_on) {
        None => v.push("changed_on", alongside_platform::DATE_FORM),
        Some(d) if d.to_string() > today => v.push("changed_on", "cannot be in the future"),
        Some(_) => {}
    }
    let pathway = r.pathway.trim().to_string();
    v.check(
        pathway.chars().count() <= 100 && !pathway.chars().any(char::is_control),
        "pathway",
        "must be up to 100 characters on one line",
    );
    v.check(
        r.opportunity_ids.len() <= LINKS,
        "opportunity_ids",
        &format!("link at most {LINKS} opportunities"),
    );
    v.check(
        r.themes.len() <= LINKS,
        "themes",
        &format!("link at most {LINKS} themes"),
    );
    for code in &r.themes {
        v.check(
            alongside_themes::CATEGORIES.iter().any(|c| c.code == code),
            "themes",
            &format!("{code:?} is not a category of the themes framework"),
        );
    }
    let mut opportunities: Vec<String> = r
        .opportunity_ids
        .iter()
        .map(|o| o.trim().to_string())
        .collect();
    opportunities.sort();
    opportunities.dedup();
    let known = opportunity::for_tenant(&caller.tenant)
        .filter(opportunity::Column::Id.is_in(opportunities.clone()))
        .select_only()
        .column(opportunity::Column::Id)
        .into_tuple::<String>()
        .all(db)
        .await?;
    for o in &opportunities {
        v.check(
            known.contains(o),
            "opportunity_ids",
            &format!("{o} is not an opportunity of this trust"),
        );
    }
    v.finish()?;
    let mut themes = r.themes.clone();
    themes.sort();
    themes.dedup();
    let row = entry::Model {
        id: ids::new_id("imp"),
        tenant_id: caller.tenant.to_string(),
        raised,
        changed,
        evidence,
        changed_on,
        pathway,
        opportunity_ids: opportunities.join("\n"),
        themes: themes.join("\n"),
        recorded_at: clock.now_rfc3339(),
        recorded_by: caller.subject.clone(),
    };
    entry::Entity::insert(sea_orm::ActiveModelTrait::reset_all(
        sea_orm::IntoActiveModel::into_active_model(row.clone()),
    ))
    .exec_without_returning(db)
    .await?;
    tracing::info!(impact_id = %row.id, "impact recorded");
    Ok(row.into())
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    r: ListImpactRequest,
) -> Result<ListImpactResponse, ServiceError> {
    let page = Page::from_request(r.page.as_ref())?;
    let mut v = Violations::default();
    for (field, value) in [("from", &r.from), ("to", &r.to)] {
        v.check(
            value.is_empty() || alongside_platform::parse_date(value).is_some(),
            field,
            alongside_platform::DATE_FORM,
        );
    }
    v.finish()?;
    let mut query = entry::for_tenant(&caller.tenant);
    if !r.pathway.trim().is_empty() {
        query = query.filter(entry::Column::Pathway.eq(r.pathway.trim()));
    }
    if !r.from.is_empty() {
        query = query.filter(entry::Column::ChangedOn.gte(r.from.as_str()));
    }
    if !r.to.is_empty() {
        query = query.filter(entry::Column::ChangedOn.lte(r.to.as_str()));
    }
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(entry::Column::ChangedOn)
        .order_by_desc(entry::Column::RecordedAt)
        .order_by_asc(entry::Column::Id)
        .offset(page.offset())
        .limit(page.limit())
        .all(db)
        .await?;
    Ok(ListImpactResponse {
        entries: rows.into_iter().map(Into::into).collect(),
        page: Some(page.info(total)),
    })
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_200008_impact_log"
        }
    }

    #[derive(DeriveIden)]
    enum ImpactLog {
        Table,
        Id,
        TenantId,
        Raised,
        Changed,
        Evidence,
        ChangedOn,
        Pathway,
        OpportunityIds,
        Themes,
        RecordedAt,
        RecordedBy,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            use ImpactLog as I;
            manager
                .create_table(
                    Table::create()
                        .table(I::Table)
                        .if_not_exists()
                        .col(ColumnDef::new(I::Id).string().not_null().primary_key())
                        .col(ColumnDef::new(I::TenantId).string().not_null())
                        .col(ColumnDef::new(I::Raised).text().not_null())
                        .col(ColumnDef::new(I::Changed).text().not_null())
                        .col(ColumnDef::new(I::Evidence).text().not_null())
                        .col(ColumnDef::new(I::ChangedOn).string().not_null())
                        .col(ColumnDef::new(I::Pathway).string().not_null())
                        .col(ColumnDef::new(I::OpportunityIds).text().not_null())
                        .col(ColumnDef::new(I::Themes).text().not_null())
                        .col(ColumnDef::new(I::RecordedAt).string().not_null())
                        .col(ColumnDef::new(I::RecordedBy).string().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("impact_by_tenant_and_date")
                        .table(I::Table)
                        .col(I::TenantId)
                        .col(I::ChangedOn)
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(ImpactLog::Table).to_owned())
                .await
        }
    }
}
