//! A trust's places as the other services know them: a read model of `feedback.places.v1`
//! (feedback keeps the lists). Engagement and payments publish figures by pathway only under a
//! listed code, resolved here exactly as feedback resolves the same values for the analytics
//! stream, so nothing staff typed becomes a key or a label of a published figure.

use std::collections::{BTreeMap, HashMap};

use alongside_platform::OdsCode;
use alongside_proto::feedback::events::v1::PlaceChanged;
use async_trait::async_trait;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter,
};

use crate::{Envelope, Handler, HandlerError};

/// The kinds of place, in the order pages list them, with their plural for messages.
pub const KINDS: &[(&str, &str)] = &[
    ("site", "sites"),
    ("locality", "localities"),
    ("pathway", "pathways"),
    ("team", "teams"),
];

pub mod place {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "place_refs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        /// The code in lower case: codes are unique in a kind, case aside.
        #[sea_orm(primary_key, auto_increment = false)]
        pub code_key: String,
        pub code: String,
        pub name: String,
        /// active, retired or merged.
        pub status: String,
        pub merged_into: String,
        pub changed_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The key of a place's messages on `feedback.places.v1`.
pub fn key(tenant: &str, kind: &str, code: &str) -> String {
    format!("{tenant}/{kind}/{}", code.to_lowercase())
}

/// Keeps a place as it now stands. A message older than the one held (a redelivery after a
/// later change) changes nothing.
pub async fn apply(db: &impl ConnectionTrait, changed: &PlaceChanged) -> Result<(), DbErr> {
    let code_key = changed.code.to_lowercase();
    let held = place::Entity::find_by_id((
        changed.tenant.clone(),
        changed.kind.clone(),
        code_key.clone(),
    ))
    .one(db)
    .await?;
    if held.is_some_and(|h| h.changed_at > changed.changed_at) {
        return Ok(());
    }
    place::Entity::insert(place::ActiveModel {
        tenant_id: Set(changed.tenant.clone()),
        kind: Set(changed.kind.clone()),
        code_key: Set(code_key),
        code: Set(changed.code.clone()),
        name: Set(changed.name.clone()),
        status: Set(changed.status.clone()),
        merged_into: Set(changed.merged_into.clone()),
        changed_at: Set(changed.changed_at.clone()),
    })
    .on_conflict(
        OnConflict::columns([
            place::Column::TenantId,
            place::Column::Kind,
            place::Column::CodeKey,
        ])
        .update_columns([
            place::Column::Code,
            place::Column::Name,
            place::Column::Status,
            place::Column::MergedInto,
            place::Column::ChangedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A service's handler with the places read model beside it: `PlaceChanged` events are kept
/// here, every other event goes to the service's own handler (in batches, in order).
pub struct WithPlaces<H>(pub H);

#[async_trait]
impl<H: Handler> Handler for WithPlaces<H> {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        if event.is::<PlaceChanged>() {
            let changed: PlaceChanged = event.payload()?;
            if changed.tenant != event.tenant().as_str() {
                return Err(HandlerError::Poison(
                    "a place's tenant differs from its envelope's".into(),
                ));
            }
            return Ok(apply(txn, &changed).await?);
        }
        self.0.handle(txn, event).await
    }

    async fn handle_batch(
        &self,
        txn: &DatabaseTransaction,
        events: &[Envelope],
    ) -> Result<(), HandlerError> {
        let mut start = 0;
        for (i, event) in events.iter().enumerate() {
            if event.is::<PlaceChanged>() {
                if start < i {
                    self.0.handle_batch(txn, &events[start..i]).await?;
                }
                self.handle(txn, event).await?;
                start = i + 1;
            }
        }
        if start < events.len() {
            self.0.handle_batch(txn, &events[start..]).await?;
        }
        Ok(())
    }
}

/// What a listed code stands for.
#[derive(Clone, Debug)]
enum Entry {
    Active(String),
    Merged(String),
    Retired(String),
}

/// Why a value stands for no listed place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unlisted {
    /// Listed once under this code, now retired.
    Retired(String),
    /// Merged into this code, which is no longer active.
    MergedAway(String),
    /// Never listed.
    NotListed,
}

impl Unlisted {
    /// Why a value of `kind` (site, locality, pathway or team) was refused, to say to whoever
    /// gave it.
    pub fn reason(&self, kind: &str) -> String {
        let plural = KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or("places", |(_, p)| *p);
        match self {
            Unlisted::Retired(code) => {
                format!("{code} is retired: it is no longer one of the trust's {plural}")
            }
            Unlisted::MergedAway(into) => {
                format!("was merged into {into}, which is no longer one of the trust's {plural}")
            }
            Unlisted::NotListed => format!(
                "is not one of the trust's {plural}: use a listed code (an administrator adds \
                 places under Places), or leave it empty"
            ),
        }
    }
}

/// A trust's places of one kind, to publish figures by.
#[derive(Clone, Debug, Default)]
pub struct Listed {
    entries: HashMap<String, Entry>,
}

impl Listed {
    pub async fn load(
        db: &impl ConnectionTrait,
        tenant: &OdsCode,
        kind: &str,
    ) -> Result<Self, DbErr> {
        let rows = place::Entity::find()
            .filter(place::Column::TenantId.eq(tenant.as_str()))
            .filter(place::Column::Kind.eq(kind))
            .all(db)
            .await?;
        Ok(Self::of(
            rows.into_iter().map(|p| (p.code, p.status, p.merged_into)),
        ))
    }

    /// From (code, status, merged into) each.
    pub fn of(rows: impl IntoIterator<Item = (String, String, String)>) -> Self {
        let entries = rows
            .into_iter()
            .map(|(code, status, merged_into)| {
                let entry = match status.as_str() {
                    "active" => Entry::Active(code.clone()),
                    "merged" => Entry::Merged(merged_into),
                    _ => Entry::Retired(code.clone()),
                };
                (code.to_lowercase(), entry)
            })
            .collect();
        Self { entries }
    }

    /// Figures keyed by values as typed, keyed by listed code instead: the values standing for
    /// one code (and all those for none, under "") are added up with `add` (which, for
    /// protected figures, hides a sum when any part is hidden).
    pub fn publish<V: Default>(
        &self,
        by: &BTreeMap<String, V>,
        add: impl Fn(&mut V, &V),
    ) -> BTreeMap<String, V> {
        let mut out: BTreeMap<String, V> = BTreeMap::new();
        for (value, figure) in by {
            add(out.entry(self.resolve(value)).or_default(), figure);
        }
        out
    }

    /// The listed code a value stands for, or "" when it is none: not listed, retired, or
    /// merged into a place no longer active. As feedback's intake resolves it, case aside.
    pub fn resolve(&self, value: &str) -> String {
        self.lookup(value).unwrap_or_default()
    }

    /// The listed code a value stands for (case and spaces aside; a merged place as the place
    /// it was merged into), or why it stands for none: the one rule of every intake and
    /// every publication.
    pub fn lookup(&self, value: &str) -> Result<String, Unlisted> {
        let look = |code: &str| self.entries.get(&code.trim().to_lowercase());
        match look(value) {
            Some(Entry::Active(code)) => Ok(code.clone()),
            Some(Entry::Merged(into)) => match look(into) {
                Some(Entry::Active(code)) => Ok(code.clone()),
                _ => Err(Unlisted::MergedAway(into.clone())),
            },
            Some(Entry::Retired(code)) => Err(Unlisted::Retired(code.clone())),
            None => Err(Unlisted::NotListed),
        }
    }

    /// The listed code `value` (of `kind`) names, "" when none is given, or why it is refused:
    /// what every intake of a place staff or a form give checks.
    pub fn check(&self, kind: &str, value: &str) -> Result<String, String> {
        if value.trim().is_empty() {
            return Ok(String::new());
        }
        self.lookup(value).map_err(|why| why.reason(kind))
    }

    /// Whether `code` is listed and active.
    pub fn is_active(&self, code: &str) -> bool {
        matches!(
            self.entries.get(&code.trim().to_lowercase()),
            Some(Entry::Active(_))
        )
    }
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261207_700002_place_refs"
        }
    }

    #[derive(DeriveIden)]
    enum PlaceRefs {
        Table,
        TenantId,
        Kind,
        CodeKey,
        Code,
        Name,
        Status,
        MergedInto,
        ChangedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let text = |col: PlaceRefs| ColumnDef::new(col).string().not_null().to_owned();
            manager
                .create_table(
                    Table::create()
                        .table(PlaceRefs::Table)
                        .if_not_exists()
                        .col(text(PlaceRefs::TenantId))
                        .col(text(PlaceRefs::Kind))
                        .col(text(PlaceRefs::CodeKey))
                        .col(text(PlaceRefs::Code))
                        .col(text(PlaceRefs::Name))
                        .col(text(PlaceRefs::Status))
                        .col(text(PlaceRefs::MergedInto))
                        .col(text(PlaceRefs::ChangedAt))
                        .primary_key(
                            Index::create()
                                .col(PlaceRefs::TenantId)
                                .col(PlaceRefs::Kind)
                                .col(PlaceRefs::CodeKey),
                        )
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(PlaceRefs::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_resolve_to_listed_codes_only_and_say_why_not() {
        let listed = Listed::of([
            ("MSK".into(), "active".into(), String::new()),
            ("Physio".into(), "merged".into(), "MSK".into()),
            ("Old".into(), "retired".into(), String::new()),
            ("Gone".into(), "merged".into(), "Old".into()),
        ]);
        assert_eq!(listed.resolve(" msk "), "MSK");
        assert_eq!(listed.resolve("physio"), "MSK", "merged: its target");
        assert_eq!(listed.resolve("Old"), "", "retired");
        assert_eq!(listed.resolve("Gone"), "", "merged into a retired place");
        assert_eq!(listed.resolve("Mrs Smith's clinic"), "", "not listed");
        assert_eq!(listed.resolve(""), "");
        // Why, for intake's messages.
        assert_eq!(listed.lookup("old"), Err(Unlisted::Retired("Old".into())));
        assert_eq!(
            listed.lookup("gone"),
            Err(Unlisted::MergedAway("Old".into()))
        );
        assert_eq!(listed.lookup("Mrs Smith"), Err(Unlisted::NotListed));
        assert!(listed.is_active(" MSK") && !listed.is_active("Physio"));
        let typed: BTreeMap<String, u32> =
            [("msk", 3), ("Physio", 4), ("Mrs Smith", 1), ("Old", 2)]
                .into_iter()
                .map(|(k, n)| (k.to_string(), n))
                .collect();
        let published = listed.publish(&typed, |a, b| *a += b);
        assert_eq!(
            published.into_iter().collect::<Vec<_>>(),
            [(String::new(), 3), ("MSK".to_string(), 7)]
        );
    }
}
