//! Which themes model labels a trust's comments, retraining it with the trust's corrections in
//! the background, and keeping every comment labelled by the model in use.
//!
//! A trust starts with the shipped model (trained on the public pxtextmining data). When staff
//! have corrected comments, a lead can retrain: the public training data plus the trust's
//! corrections (each counting three times) make the trust's own model, evaluated on the public
//! test split like the shipped one. The labeller then relabels every comment that staff have not
//! corrected. Jobs survive restarts: a job whose worker stopped is taken up again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alongside_platform::{Caller, Clock, OdsCode, ServiceError, SharedClock};
use alongside_themes::dataset::{self, Labelled};
use alongside_themes::{evaluate, train, Model, Question, Sentiment};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryOrder, QuerySelect};
use sha2::Digest;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use crate::comments;

/// A model and the version comments record.
#[derive(Clone)]
pub struct InUse {
    pub model: Arc<Model>,
    pub version: String,
}

/// How much a staff correction counts against one public example.
pub const CORRECTION_WEIGHT: f32 = 3.0;
/// How often a replica checks whether another has trained a newer model.
const REFRESH: Duration = Duration::from_secs(30);
/// A running job whose worker has not reported for this long is taken up again.
const STALE: Duration = Duration::from_secs(300);

/// The shipped model, with its version: a digest of its file.
pub fn shipped() -> InUse {
    static SHIPPED: std::sync::OnceLock<InUse> = std::sync::OnceLock::new();
    SHIPPED
        .get_or_init(|| InUse {
            model: Arc::new(alongside_themes::shipped().clone()),
            version: format!(
                "shipped-{}",
                &hex::encode(sha2::Sha256::digest(alongside_themes::SHIPPED))[..12]
            ),
        })
        .clone()
}

/// The shipped model's figures on the public test split, worked out once.
pub fn shipped_figures() -> Figures {
    static FIGURES: std::sync::OnceLock<Figures> = std::sync::OnceLock::new();
    *FIGURES.get_or_init(|| Figures::of(&shipped().model))
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Figures {
    pub micro_f1: f64,
    pub macro_f1: f64,
    pub sentiment_macro_f1: f64,
}

impl Figures {
    fn of(model: &Model) -> Self {
        let (_, test) = dataset::public_split();
        let report = evaluate::evaluate(model, &test);
        Self {
            micro_f1: report.micro().f1(),
            macro_f1: report.macro_().2,
            sentiment_macro_f1: report.sentiment_macro_f1(),
        }
    }
}

/// The models in use, per tenant, cached.
pub struct ThemeModels {
    db: DatabaseConnection,
    /// Stamps training jobs and their heartbeats.
    clock: SharedClock,
    cache: Mutex<HashMap<String, (InUse, Instant)>>,
    /// Wakes the labeller and the training worker.
    pub wake: Notify,
}

impl ThemeModels {
    pub fn new(db: DatabaseConnection, clock: SharedClock) -> Arc<Self> {
        Arc::new(Self {
            db,
            clock,
            cache: Mutex::new(HashMap::new()),
            wake: Notify::new(),
        })
    }

    /// The model labelling `tenant`'s comments: its own latest, or the shipped one.
    pub async fn for_tenant(&self, tenant: &OdsCode) -> Result<InUse, DbErr> {
        let mut cache = self.cache.lock().await;
        if let Some((in_use, checked)) = cache.get(tenant.as_str()) {
            if checked.elapsed() < REFRESH {
                return Ok(in_use.clone());
            }
        }
        let latest: Option<String> = model_row::Entity::find()
            .filter(model_row::Column::TenantId.eq(tenant.as_str()))
            .order_by_desc(model_row::Column::CreatedAt)
            .select_only()
            .column(model_row::Column::Id)
            .into_tuple()
            .one(&self.db)
            .await?;
        let in_use = match latest {
            None => shipped(),
            Some(id) => match cache.get(tenant.as_str()) {
                Some((held, _)) if held.version == id => held.clone(),
                _ => {
                    let row = model_row::Entity::find_by_id(id.clone())
                        .one(&self.db)
                        .await?
                        .ok_or_else(|| DbErr::RecordNotFound(id.clone()))?;
                    let model = tokio::task::spawn_blocking(move || Model::from_bytes(&row.bytes))
                        .await
                        .map_err(|e| DbErr::Custom(e.to_string()))?
                        .map_err(DbErr::Custom)?;
                    InUse {
                        model: Arc::new(model),
                        version: id,
                    }
                }
            },
        };
        cache.insert(tenant.to_string(), (in_use.clone(), Instant::now()));
        Ok(in_use)
    }

    async fn forget(&self, tenant: &str) {
        self.cache.lock().await.remove(tenant);
    }
}

/// A trust's trained models.
pub mod model_row {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "theme_models")]
    pub struct Model {
        /// The training's id, which is the version comments record.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub bytes: Vec<u8>,
        pub created_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Retraining jobs.
pub mod training {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "theme_trainings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        /// queued, running, done or failed.
        pub status: String,
        pub done: i32,
        pub total: i32,
        pub corrections: i32,
        pub requested_by: String,
        pub requested_at: String,
        /// When the worker last reported (a stale one is taken up again).
        pub heartbeat_at: String,
        pub finished_at: String,
        pub micro_f1: f64,
        pub macro_f1: f64,
        pub sentiment_macro_f1: f64,
        pub error: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub async fn latest_training(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
) -> Result<Option<training::Model>, DbErr> {
    training::Entity::find()
        .filter(training::Column::TenantId.eq(tenant.as_str()))
        .order_by_desc(training::Column::RequestedAt)
        .one(db)
        .await
}

pub async fn staff_corrections(db: &impl ConnectionTrait, tenant: &OdsCode) -> Result<u64, DbErr> {
    comments::for_tenant(tenant)
        .filter(comments::Column::LabelledBy.eq("staff"))
        .count(db)
        .await
}

/// Queues a retraining for the caller's trust.
pub async fn request(
    db: &DatabaseConnection,
    models: &ThemeModels,
    caller: &Caller,
) -> Result<training::Model, ServiceError> {
    if let Some(job) = latest_training(db, &caller.tenant).await? {
        if matches!(job.status.as_str(), "queued" | "running") {
            return Err(ServiceError::Conflict(
                "a retraining is already under way: wait for it to finish".into(),
            ));
        }
    }
    let corrections = staff_corrections(db, &caller.tenant).await?;
    if corrections == 0 {
        return Err(ServiceError::Conflict(
            "there are no corrections to learn from yet: correct some comments' themes first"
                .into(),
        ));
    }
    let now = models.clock.now_rfc3339();
    let job = training::ActiveModel {
        id: Set(alongside_platform::ids::new_id(
            alongside_platform::ids::THEME_TRAINING,
        )),
        tenant_id: Set(caller.tenant.to_string()),
        status: Set("queued".into()),
        done: Set(0),
        total: Set(0),
        corrections: Set(corrections as i32),
        requested_by: Set(caller.subject.clone()),
        requested_at: Set(now.clone()),
        heartbeat_at: Set(now),
        finished_at: Set(String::new()),
        micro_f1: Set(0.0),
        macro_f1: Set(0.0),
        sentiment_macro_f1: Set(0.0),
        error: Set(String::new()),
    }
    .insert(db)
    .await?;
    models.wake.notify_waiters();
    Ok(job)
}

/// Runs queued trainings, one at a time, until `shutdown`.
pub async fn run_trainer(
    db: DatabaseConnection,
    models: Arc<ThemeModels>,
    shutdown: CancellationToken,
) {
    loop {
        match next_job(&db, &*models.clock).await {
            Ok(Some(job)) => {
                let tenant = job.tenant_id.clone();
                if let Err(err) = run_job(&db, &models, job.clone(), &shutdown).await {
                    tracing::warn!(tenant = %tenant, error = %err, "themes retraining failed");
                    let _ = training::ActiveModel {
                        id: Set(job.id),
                        status: Set("failed".into()),
                        error: Set(err.to_string()),
                        finished_at: Set(models.clock.now_rfc3339()),
                        ..Default::default()
                    }
                    .update(&db)
                    .await;
                }
                continue;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "themes trainer cannot read its jobs"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = models.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
    }
}

/// Claims the oldest queued job, or a running one whose worker has stopped reporting.
async fn next_job(
    db: &DatabaseConnection,
    clock: &dyn Clock,
) -> Result<Option<training::Model>, DbErr> {
    let stale_before = alongside_platform::format_rfc3339(clock.now() - STALE);
    let candidates = training::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(training::Column::Status.eq("queued"))
                .add(
                    sea_orm::Condition::all()
                        .add(training::Column::Status.eq("running"))
                        .add(training::Column::HeartbeatAt.lt(stale_before.clone())),
                ),
        )
        .order_by_asc(training::Column::RequestedAt)
        .limit(5)
        .all(db)
        .await?;
    for job in candidates {
        let claimed = training::Entity::update_many()
            .col_expr(training::Column::Status, Expr::value("running"))
            .col_expr(
                training::Column::HeartbeatAt,
                Expr::value(clock.now_rfc3339()),
            )
            .filter(training::Column::Id.eq(&job.id))
            .filter(training::Column::Status.eq(&job.status))
            .filter(training::Column::HeartbeatAt.eq(&job.heartbeat_at))
            .exec(db)
            .await?;
        if claimed.rows_affected == 1 {
            return Ok(Some(job));
        }
    }
    Ok(None)
}

#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("{0}")]
    Other(String),
}

async fn run_job(
    db: &DatabaseConnection,
    models: &ThemeModels,
    job: training::Model,
    shutdown: &CancellationToken,
) -> Result<(), JobError> {
    let tenant = OdsCode::parse(&job.tenant_id).map_err(|e| JobError::Other(e.to_string()))?;
    let corrected = comments::for_tenant(&tenant)
        .filter(comments::Column::LabelledBy.eq("staff"))
        .all(db)
        .await?;
    let (mut examples, _) = dataset::public_split();
    let count = corrected.len();
    examples.extend(corrected.into_iter().map(|c| {
        Labelled {
            question: Question::parse(&c.question).unwrap_or(Question::Unspecified),
            rating: c.answer.parse().ok(),
            categories: comments::split_codes(&c.categories)
                .iter()
                .filter_map(|code| alongside_themes::framework::index_of(code))
                .collect(),
            sentiment: u8::try_from(c.sentiment)
                .ok()
                .and_then(Sentiment::from_score),
            group: format!("{}:{}", c.tenant_id, c.id),
            weight: CORRECTION_WEIGHT,
            text: c.text,
        }
    }));
    let description = format!(
        "Trained on the public training split and {count} of this trust's corrected comments (each counting {CORRECTION_WEIGHT} times)."
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let trainer = tokio::task::spawn_blocking(move || {
        let mut last = 0;
        let model = train::train(
            &examples,
            &train::Settings::default(),
            &description,
            &mut |p| {
                // Report every 5%.
                if p.done * 20 / p.total > last || p.done == p.total {
                    last = p.done * 20 / p.total;
                    let _ = tx.send(p);
                }
            },
        )
        .quantized();
        let figures = Figures::of(&model);
        (model.to_bytes(), figures)
    });
    while let Some(p) = rx.recv().await {
        if shutdown.is_cancelled() {
            // The job stays running with an old heartbeat: it is taken up again after restart.
            return Ok(());
        }
        training::ActiveModel {
            id: Set(job.id.clone()),
            done: Set(p.done as i32),
            total: Set(p.total as i32),
            corrections: Set(count as i32),
            heartbeat_at: Set(models.clock.now_rfc3339()),
            ..Default::default()
        }
        .update(db)
        .await?;
    }
    let (bytes, figures) = trainer.await.map_err(|e| JobError::Other(e.to_string()))?;
    let now = models.clock.now_rfc3339();
    model_row::ActiveModel {
        id: Set(job.id.clone()),
        tenant_id: Set(job.tenant_id.clone()),
        bytes: Set(bytes),
        created_at: Set(now.clone()),
    }
    .insert(db)
    .await?;
    // The new model is in use before the job says it is done: a status read in between must
    // not pair "done" with the model it replaced.
    models.forget(&job.tenant_id).await;
    training::ActiveModel {
        id: Set(job.id.clone()),
        status: Set("done".into()),
        finished_at: Set(now),
        micro_f1: Set(figures.micro_f1),
        macro_f1: Set(figures.macro_f1),
        sentiment_macro_f1: Set(figures.sentiment_macro_f1),
        ..Default::default()
    }
    .update(db)
    .await?;
    models.forget(&job.tenant_id).await;
    models.wake.notify_waiters();
    // Two models a trust are enough to go back one; older ones go (next time, if not now).
    if let Err(err) = prune(db, &job.tenant_id).await {
        tracing::warn!(tenant = %job.tenant_id, error = %err, "old themes models kept for now");
    }
    tracing::info!(tenant = %job.tenant_id, corrections = count, "themes retrained");
    Ok(())
}

async fn prune(db: &DatabaseConnection, tenant: &str) -> Result<(), DbErr> {
    let older: Vec<String> = model_row::Entity::find()
        .filter(model_row::Column::TenantId.eq(tenant))
        .order_by_desc(model_row::Column::CreatedAt)
        .select_only()
        .column(model_row::Column::Id)
        .limit(1_000)
        .offset(2)
        .into_tuple()
        .all(db)
        .await?;
    if !older.is_empty() {
        model_row::Entity::delete_many()
            .filter(model_row::Column::Id.is_in(older))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Keeps every comment labelled by its trust's model in use: at start (comments moved from
/// before labelling existed), after a retraining here, and every minute for one elsewhere.
pub async fn run_labeller(
    db: DatabaseConnection,
    models: Arc<ThemeModels>,
    shutdown: CancellationToken,
) {
    let mut done_with: HashMap<String, String> = HashMap::new();
    loop {
        if let Err(err) = label_all(&db, &models, &mut done_with, &shutdown).await {
            tracing::warn!(error = %err, "comment labeller will try again");
            done_with.clear();
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = models.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
    }
}

async fn label_all(
    db: &DatabaseConnection,
    models: &ThemeModels,
    done_with: &mut HashMap<String, String>,
    shutdown: &CancellationToken,
) -> Result<(), DbErr> {
    for tenant in comments::tenants(db).await? {
        let Ok(code) = OdsCode::parse(&tenant) else {
            continue;
        };
        let in_use = models.for_tenant(&code).await?;
        if done_with.get(&tenant) == Some(&in_use.version) {
            continue;
        }
        label_tenant(db, &code, &in_use, shutdown).await?;
        done_with.insert(tenant, in_use.version);
    }
    Ok(())
}

/// Relabels every comment of `tenant` that staff have not corrected and `in_use` has not
/// labelled; returns how many.
pub async fn label_tenant(
    db: &DatabaseConnection,
    tenant: &OdsCode,
    in_use: &InUse,
    shutdown: &CancellationToken,
) -> Result<u64, DbErr> {
    use sea_orm::TransactionTrait;
    let mut labelled = 0;
    loop {
        if shutdown.is_cancelled() {
            return Ok(labelled);
        }
        let batch = comments::needing_labels(db, tenant, &in_use.version, 500).await?;
        if batch.is_empty() {
            return Ok(labelled);
        }
        let txn = db.begin().await?;
        for c in &batch {
            let got = in_use.model.classify(&alongside_themes::Input {
                text: &c.text,
                question: Question::parse(&c.question).unwrap_or(Question::Unspecified),
                rating: c.answer.parse().ok(),
            });
            comments::relabel(
                &txn,
                c,
                &got.categories,
                comments::sentiment_number(&got),
                comments::Relabel::Model {
                    version: &in_use.version,
                },
            )
            .await?;
        }
        txn.commit().await?;
        labelled += batch.len() as u64;
    }
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300005_theme_models"
        }
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum ThemeModels {
        Table,
        Id,
        TenantId,
        Bytes,
        CreatedAt,
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum ThemeTrainings {
        Table,
        Id,
        TenantId,
        Status,
        Done,
        Total,
        Corrections,
        RequestedBy,
        RequestedAt,
        HeartbeatAt,
        FinishedAt,
        MicroF1,
        MacroF1,
        SentimentMacroF1,
        Error,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(ThemeModels::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(ThemeModels::Id)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(ThemeModels::TenantId).string().not_null())
                        .col(ColumnDef::new(ThemeModels::Bytes).blob().not_null())
                        .col(ColumnDef::new(ThemeModels::CreatedAt).string().not_null())
                        .to_owned(),
                )
                .await?;
            let text = |c: ThemeTrainings| ColumnDef::new(c).string().not_null().to_owned();
            let int = |c: ThemeTrainings| ColumnDef::new(c).integer().not_null().to_owned();
            let real = |c: ThemeTrainings| ColumnDef::new(c).double().not_null().to_owned();
            manager
                .create_table(
                    Table::create()
                        .table(ThemeTrainings::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(ThemeTrainings::Id)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(text(ThemeTrainings::TenantId))
                        .col(text(ThemeTrainings::Status))
                        .col(int(ThemeTrainings::Done))
                        .col(int(ThemeTrainings::Total))
                        .col(int(ThemeTrainings::Corrections))
                        .col(text(ThemeTrainings::RequestedBy))
                        .col(text(ThemeTrainings::RequestedAt))
                        .col(text(ThemeTrainings::HeartbeatAt))
                        .col(text(ThemeTrainings::FinishedAt))
                        .col(real(ThemeTrainings::MicroF1))
                        .col(real(ThemeTrainings::MacroF1))
                        .col(real(ThemeTrainings::SentimentMacroF1))
                        .col(ColumnDef::new(ThemeTrainings::Error).text().not_null())
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}
