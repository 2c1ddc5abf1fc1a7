//! The free-text comments given with FFT responses, each with its themes and sentiment: as a
//! model labelled it, and as staff corrected it. Comment text may hold names: it is stored,
//! never logged, and read one by one only by staff (analysts see counts).

use alongside_platform::OdsCode;
use alongside_themes::{Category, Classification, Question};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, QuerySelect};

use crate::themes::InUse;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub source: String,
    pub response_id: String,
    /// worked_well or could_improve.
    pub question: String,
    pub text: String,
    pub responded_on: String,
    pub month: String,
    /// The FFT answer's code given with the comment.
    pub answer: String,
    /// The categories that apply, as codes between commas (",staff_manner,timeliness,"), so one
    /// can be found with LIKE; empty until labelled.
    pub categories: String,
    /// 1 (very positive) to 5 (very negative); 0 for none.
    pub sentiment: i32,
    /// What the model said, kept when staff correct it.
    pub model_categories: String,
    pub model_sentiment: i32,
    pub model_version: String,
    /// "" (not yet labelled), model or staff.
    pub labelled_by: String,
    pub corrected_by: String,
    pub corrected_at: String,
    pub created_at: String,
    /// The pathway of the response it came with ("" when not given), for an MDT's themes.
    pub pathway: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub fn for_tenant(tenant: &OdsCode) -> Select<Entity> {
    Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
}

/// One row per comment and category, for counting by category.
pub mod theme {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "comment_themes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub comment_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub category: String,
        pub tenant_id: String,
        pub month: String,
        pub sentiment: i32,
        pub pathway: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub fn join_codes(categories: &[Category]) -> String {
    if categories.is_empty() {
        return String::new();
    }
    let codes: Vec<&str> = categories.iter().map(|c| c.code).collect();
    format!(",{},", codes.join(","))
}

pub fn split_codes(joined: &str) -> Vec<String> {
    joined
        .split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// A comment to store, before it is labelled.
pub struct New<'a> {
    pub source: &'a str,
    pub response_id: &'a str,
    pub question: Question,
    pub text: &'a str,
    pub responded_on: &'a str,
    pub answer: &'a str,
    pub answer_number: Option<u8>,
    pub pathway: &'a str,
}

/// Labels and stores new comments with `model`; returns how many.
pub async fn store(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    model: &InUse,
    comments: &[New<'_>],
    created_at: &str,
) -> Result<u64, DbErr> {
    let mut stored = 0;
    // Eighteen columns a row: 500 rows stay inside SQLite's parameter limit.
    for chunk in comments.chunks(500) {
        let mut rows = Vec::with_capacity(chunk.len());
        let mut themes = Vec::new();
        for c in chunk {
            let got = model.model.classify(&alongside_themes::Input {
                text: c.text,
                question: c.question,
                rating: c.answer_number,
            });
            let id = alongside_platform::ids::new_id(alongside_platform::ids::COMMENT);
            let month = c.responded_on.get(..7).unwrap_or("").to_string();
            let sentiment = sentiment_number(&got);
            themes.extend(theme_rows(
                &id,
                tenant,
                &month,
                c.pathway,
                &got.categories,
                sentiment,
            ));
            let categories = join_codes(&got.categories);
            rows.push(ActiveModel {
                id: Set(id),
                tenant_id: Set(tenant.to_string()),
                source: Set(c.source.to_string()),
                response_id: Set(c.response_id.to_string()),
                question: Set(c.question.code().to_string()),
                text: Set(c.text.to_string()),
                responded_on: Set(c.responded_on.to_string()),
                month: Set(month),
                answer: Set(c.answer.to_string()),
                categories: Set(categories.clone()),
                sentiment: Set(sentiment),
                model_categories: Set(categories),
                model_sentiment: Set(sentiment),
                model_version: Set(model.version.clone()),
                labelled_by: Set("model".into()),
                corrected_by: Set(String::new()),
                corrected_at: Set(String::new()),
                created_at: Set(created_at.to_string()),
                pathway: Set(c.pathway.to_string()),
            });
        }
        stored += rows.len() as u64;
        Entity::insert_many(rows).exec_without_returning(db).await?;
        insert_themes(db, themes).await?;
    }
    Ok(stored)
}

pub fn sentiment_number(got: &Classification) -> i32 {
    got.sentiment.map_or(0, |s| i32::from(s.score()))
}

fn theme_rows(
    comment_id: &str,
    tenant: &OdsCode,
    month: &str,
    pathway: &str,
    categories: &[Category],
    sentiment: i32,
) -> Vec<theme::ActiveModel> {
    categories
        .iter()
        .map(|c| theme::ActiveModel {
            comment_id: Set(comment_id.to_string()),
            category: Set(c.code.to_string()),
            tenant_id: Set(tenant.to_string()),
            month: Set(month.to_string()),
            sentiment: Set(sentiment),
            pathway: Set(pathway.to_string()),
        })
        .collect()
}

async fn insert_themes(
    db: &impl ConnectionTrait,
    rows: Vec<theme::ActiveModel>,
) -> Result<(), DbErr> {
    for chunk in rows.chunks(1_000) {
        theme::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([theme::Column::CommentId, theme::Column::Category])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Sets a comment's labels (the model's when `by` is "model", or staff's), replacing its theme
/// rows.
pub async fn relabel(
    db: &impl ConnectionTrait,
    comment: &Model,
    categories: &[Category],
    sentiment: i32,
    change: Relabel<'_>,
) -> Result<(), DbErr> {
    let tenant = OdsCode::parse(&comment.tenant_id).map_err(|e| DbErr::Custom(e.to_string()))?;
    let joined = join_codes(categories);
    let mut row = ActiveModel {
        id: Set(comment.id.clone()),
        categories: Set(joined.clone()),
        sentiment: Set(sentiment),
        ..Default::default()
    };
    match change {
        Relabel::Model { version } => {
            row.model_categories = Set(joined);
            row.model_sentiment = Set(sentiment);
            row.model_version = Set(version.to_string());
            row.labelled_by = Set("model".into());
        }
        Relabel::Staff { subject, at } => {
            row.labelled_by = Set("staff".into());
            row.corrected_by = Set(subject.to_string());
            row.corrected_at = Set(at.to_string());
        }
    }
    Entity::update(row).exec(db).await?;
    theme::Entity::delete_many()
        .filter(theme::Column::CommentId.eq(&comment.id))
        .exec(db)
        .await?;
    insert_themes(
        db,
        theme_rows(
            &comment.id,
            &tenant,
            &comment.month,
            &comment.pathway,
            categories,
            sentiment,
        ),
    )
    .await?;
    // The month's themes on the analytics stream change with it.
    crate::insights::mark(
        db,
        &tenant,
        &std::collections::BTreeSet::from([comment.month.clone()]),
    )
    .await
}

pub enum Relabel<'a> {
    Model { version: &'a str },
    Staff { subject: &'a str, at: &'a str },
}

/// Comments in `tenant` the model labelled with another version than `version` (or never
/// labelled), a batch at a time.
pub async fn needing_labels(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    version: &str,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    for_tenant(tenant)
        .filter(Column::LabelledBy.ne("staff"))
        .filter(Column::ModelVersion.ne(version))
        .limit(limit)
        .all(db)
        .await
}

/// Tenants with comments.
pub async fn tenants(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::TenantId)
        .distinct()
        .into_tuple()
        .all(db)
        .await
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300004_comments"
        }
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum Comments {
        Table,
        Id,
        TenantId,
        Source,
        ResponseId,
        Question,
        Text,
        RespondedOn,
        Month,
        Answer,
        Categories,
        Sentiment,
        ModelCategories,
        ModelSentiment,
        ModelVersion,
        LabelledBy,
        CorrectedBy,
        CorrectedAt,
        CreatedAt,
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum CommentThemes {
        Table,
        CommentId,
        Category,
        TenantId,
        Month,
        Sentiment,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let text = |c: Comments| ColumnDef::new(c).string().not_null().to_owned();
            manager
                .create_table(
                    Table::create()
                        .table(Comments::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(Comments::Id)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(text(Comments::TenantId))
                        .col(text(Comments::Source))
                        .col(text(Comments::ResponseId))
                        .col(text(Comments::Question))
                        .col(ColumnDef::new(Comments::Text).text().not_null())
                        .col(text(Comments::RespondedOn))
                        .col(text(Comments::Month))
                        .col(text(Comments::Answer))
                        .col(text(Comments::Categories))
                        .col(ColumnDef::new(Comments::Sentiment).integer().not_null())
                        .col(text(Comments::ModelCategories))
                        .col(
                            ColumnDef::new(Comments::ModelSentiment)
                                .integer()
                                .not_null(),
                        )
                        .col(text(Comments::ModelVersion))
                        .col(text(Comments::LabelledBy))
                        .col(text(Comments::CorrectedBy))
                        .col(text(Comments::CorrectedAt))
                        .col(text(Comments::CreatedAt))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("comments_by_month")
                        .table(Comments::Table)
                        .col(Comments::TenantId)
                        .col(Comments::Month)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(CommentThemes::Table)
                        .if_not_exists()
                        .col(ColumnDef::new(CommentThemes::CommentId).string().not_null())
                        .col(ColumnDef::new(CommentThemes::Category).string().not_null())
                        .col(ColumnDef::new(CommentThemes::TenantId).string().not_null())
                        .col(ColumnDef::new(CommentThemes::Month).string().not_null())
                        .col(
                            ColumnDef::new(CommentThemes::Sentiment)
                                .integer()
                                .not_null(),
                        )
                        .primary_key(
                            Index::create()
                                .col(CommentThemes::CommentId)
                                .col(CommentThemes::Category),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("comment_themes_by_month")
                        .table(CommentThemes::Table)
                        .col(CommentThemes::TenantId)
                        .col(CommentThemes::Month)
                        .col(CommentThemes::Category)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            // Comments given before this table were kept on the response: move them here,
            // unlabelled (the service labels them when it starts).
            let db = manager.get_connection();
            for (question, column) in [
                ("worked_well", "worked_well"),
                ("could_improve", "could_improve"),
            ] {
                db.execute_unprepared(&format!(
                    "INSERT INTO comments (id, tenant_id, source, response_id, question, text, \
                     responded_on, month, answer, categories, sentiment, model_categories, \
                     model_sentiment, model_version, labelled_by, corrected_by, corrected_at, \
                     created_at) \
                     SELECT 'cmt_' || id || '_{question}', tenant_id, source, response_id, \
                     '{question}', {column}, responded_on, month, answer, '', 0, '', 0, '', '', \
                     '', '', received_at FROM fft_responses WHERE {column} <> ''"
                ))
                .await?;
            }
            db.execute_unprepared(
                "UPDATE fft_responses SET worked_well = '', could_improve = '' \
                 WHERE worked_well <> '' OR could_improve <> ''",
            )
            .await?;
            Ok(())
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}

/// Comments and their theme rows carry the pathway of their response, so an MDT's round-up can
/// count its own comments' themes; those already held take it from their response.
pub mod pathway_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300010_comment_pathway"
        }
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum Comments {
        Table,
        Pathway,
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum CommentThemes {
        Table,
        Pathway,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(
                    Table::alter()
                        .table(Comments::Table)
                        .add_column(
                            ColumnDef::new(Comments::Pathway)
                                .string()
                                .not_null()
                                .default(""),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .alter_table(
                    Table::alter()
                        .table(CommentThemes::Table)
                        .add_column(
                            ColumnDef::new(CommentThemes::Pathway)
                                .string()
                                .not_null()
                                .default(""),
                        )
                        .to_owned(),
                )
                .await?;
            let db = manager.get_connection();
            db.execute_unprepared(
                "UPDATE comments SET pathway = COALESCE((SELECT r.pathway FROM fft_responses r \
                 WHERE r.tenant_id = comments.tenant_id AND r.source = comments.source \
                 AND r.response_id = comments.response_id), '')",
            )
            .await?;
            db.execute_unprepared(
                "UPDATE comment_themes SET pathway = COALESCE((SELECT c.pathway FROM comments c \
                 WHERE c.id = comment_themes.comment_id), '')",
            )
            .await?;
            manager
                .create_index(
                    Index::create()
                        .name("comment_themes_by_pathway")
                        .table(CommentThemes::Table)
                        .col(Alias::new("tenant_id"))
                        .col(CommentThemes::Pathway)
                        .col(Alias::new("month"))
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for table in [Alias::new("comments"), Alias::new("comment_themes")] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table)
                            .drop_column(Alias::new("pathway"))
                            .to_owned(),
                    )
                    .await?;
            }
            Ok(())
        }
    }
}
