//! Engagement's tables for sessions, offers, staff requests, partners' preferences and forums,
//! and the migration that adds them.

macro_rules! entity {
    ($name:ident, $table:literal, { $($body:tt)* }) => {
        pub mod $name {
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm(table_name = $table)]
            pub struct Model { $($body)* }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}
            impl ActiveModelBehavior for ActiveModel {}

            /// Every query of this table starts here, so no query can forget the tenant.
            pub fn for_tenant(tenant: &alongside_platform::OdsCode) -> Select<Entity> {
                Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
            }
        }
    };
}

entity!(session, "opportunity_sessions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub opportunity_id: String,
    pub number: i32,
    pub on_date: String,
    pub start_time: String,
    pub minutes: i32,
});

entity!(staff_request, "staff_requests", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub title: String,
    pub team: String,
    pub pathway: String,
    pub description: String,
    pub kind: String,
    pub places: i32,
    pub needed_by: String,
    /// open, converted or declined.
    pub status: String,
    pub opportunity_id: String,
    pub decline_reason: String,
    pub requested_by: String,
    pub created_at: String,
});

entity!(interest, "partner_interest", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub opportunity_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub partner_id: String,
    pub tenant_id: String,
    pub note: String,
    pub created_at: String,
});

entity!(preference, "partner_preferences", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub partner_id: String,
    pub tenant_id: String,
    /// Each list is kept as `|a|b|` (empty: none), so SQL can ask whether it holds a value.
    pub kinds: String,
    pub days: String,
    pub conflicts: String,
    pub updated_at: String,
});

entity!(forum, "forums", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub pathway: String,
    pub description: String,
    pub created_at: String,
});

entity!(forum_member, "forum_members", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub forum_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub partner_id: String,
    pub tenant_id: String,
    pub role: String,
    pub joined_on: String,
});

entity!(meeting, "forum_meetings", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub forum_id: String,
    pub held_on: String,
    pub focus: String,
    pub agenda: String,
    pub minutes: String,
    pub opportunity_id: String,
});

entity!(action, "forum_actions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub forum_id: String,
    pub meeting_id: String,
    pub action: String,
    pub owner: String,
    pub due_on: String,
    pub status: String,
    pub done_on: String,
});

/// A `|a|b|` list from values (empty for none).
pub fn to_list<S: AsRef<str>>(values: &[S]) -> String {
    if values.is_empty() {
        return String::new();
    }
    let mut out = String::from("|");
    for v in values {
        out.push_str(v.as_ref());
        out.push('|');
    }
    out
}

pub fn from_list(list: &str) -> Vec<String> {
    list.split('|')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300001_sessions_offers_requests_forums"
        }
    }

    fn text(name: &str) -> ColumnDef {
        ColumnDef::new(Alias::new(name))
            .string()
            .not_null()
            .default("")
            .to_owned()
    }

    fn key(name: &str) -> ColumnDef {
        ColumnDef::new(Alias::new(name))
            .string()
            .not_null()
            .to_owned()
    }

    fn int(name: &str, default: i32) -> ColumnDef {
        ColumnDef::new(Alias::new(name))
            .integer()
            .not_null()
            .default(default)
            .to_owned()
    }

    async fn add_column(
        manager: &SchemaManager<'_>,
        table: &str,
        column: ColumnDef,
    ) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .add_column(column)
                    .to_owned(),
            )
            .await
    }

    async fn create(
        manager: &SchemaManager<'_>,
        table: &str,
        columns: Vec<ColumnDef>,
        primary: &[&str],
    ) -> Result<(), DbErr> {
        let mut statement = Table::create();
        statement.table(Alias::new(table)).if_not_exists();
        for mut c in columns {
            statement.col(&mut c);
        }
        let mut pk = Index::create();
        for p in primary {
            pk.col(Alias::new(*p));
        }
        statement.primary_key(&mut pk);
        manager.create_table(statement.to_owned()).await
    }

    async fn index(
        manager: &SchemaManager<'_>,
        name: &str,
        table: &str,
        columns: &[&str],
        unique: bool,
    ) -> Result<(), DbErr> {
        let mut statement = Index::create();
        statement
            .name(name)
            .table(Alias::new(table))
            .if_not_exists();
        for c in columns {
            statement.col(Alias::new(*c));
        }
        if unique {
            statement.unique();
        }
        manager.create_index(statement.to_owned()).await
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for column in [
                text("description"),
                text("locality"),
                int("expected_minutes", 120),
                text("accessibility"),
                text("contact"),
                text("cancel_reason"),
                text("request_id"),
            ] {
                add_column(manager, "opportunities", column).await?;
            }
            for column in [
                ColumnDef::new(Alias::new("status"))
                    .string()
                    .not_null()
                    .default("accepted")
                    .to_owned(),
                text("decline_reason"),
                text("responded_at"),
            ] {
                add_column(manager, "assignments", column).await?;
            }
            create(
                manager,
                "opportunity_sessions",
                vec![
                    key("id"),
                    key("tenant_id"),
                    key("opportunity_id"),
                    int("number", 1),
                    key("on_date"),
                    text("start_time"),
                    int("minutes", 120),
                ],
                &["id"],
            )
            .await?;
            index(
                manager,
                "opportunity_sessions_by_opportunity",
                "opportunity_sessions",
                &["opportunity_id", "number"],
                true,
            )
            .await?;
            let db = manager.get_connection();
            // Every opportunity before sessions existed had one, on its date.
            db.execute_unprepared(
                "INSERT INTO opportunity_sessions (id, tenant_id, opportunity_id, number, on_date, start_time, minutes) \
                 SELECT 'ses_' || SUBSTR(id, 5), tenant_id, id, 1, starts_on, '10:00', 120 FROM opportunities",
            )
            .await?;
            // Attendance becomes one a session, with its outcome: moved to a new table, as the
            // old one's unique key (one an assignment) cannot be dropped on SQLite.
            create(
                manager,
                "session_attendances",
                vec![
                    key("id"),
                    key("tenant_id"),
                    key("assignment_id"),
                    key("opportunity_id"),
                    key("partner_id"),
                    int("minutes", 0),
                    key("activity_date"),
                    key("recorded_at"),
                    key("recorded_by"),
                    int("revision", 1),
                    text("corrected_at"),
                    text("correction_reason"),
                    text("session_id"),
                    ColumnDef::new(Alias::new("outcome"))
                        .string()
                        .not_null()
                        .default("attended")
                        .to_owned(),
                ],
                &["id"],
            )
            .await?;
            db.execute_unprepared(
                "INSERT INTO session_attendances (id, tenant_id, assignment_id, opportunity_id, partner_id, minutes, activity_date, recorded_at, recorded_by, revision, corrected_at, correction_reason, session_id, outcome) \
                 SELECT id, tenant_id, assignment_id, opportunity_id, partner_id, minutes, activity_date, recorded_at, recorded_by, revision, corrected_at, correction_reason, \
                 'ses_' || SUBSTR(opportunity_id, 5), CASE WHEN minutes > 0 THEN 'attended' ELSE 'no_show' END FROM attendances",
            )
            .await?;
            manager
                .drop_table(Table::drop().table(Alias::new("attendances")).to_owned())
                .await?;
            index(
                manager,
                "attendances_once_per_session",
                "session_attendances",
                &["assignment_id", "session_id"],
                true,
            )
            .await?;
            index(
                manager,
                "attendances_by_date",
                "session_attendances",
                &["tenant_id", "activity_date"],
                false,
            )
            .await?;
            create(
                manager,
                "staff_requests",
                vec![
                    key("id"),
                    key("tenant_id"),
                    key("title"),
                    text("team"),
                    text("pathway"),
                    text("description"),
                    text("kind"),
                    int("places", 1),
                    text("needed_by"),
                    key("status"),
                    text("opportunity_id"),
                    text("decline_reason"),
                    key("requested_by"),
                    key("created_at"),
                ],
                &["id"],
            )
            .await?;
            create(
                manager,
                "partner_interest",
                vec![
                    key("opportunity_id"),
                    key("partner_id"),
                    key("tenant_id"),
                    text("note"),
                    key("created_at"),
                ],
                &["opportunity_id", "partner_id"],
            )
            .await?;
            create(
                manager,
                "partner_preferences",
                vec![
                    key("partner_id"),
                    key("tenant_id"),
                    text("kinds"),
                    text("days"),
                    text("conflicts"),
                    key("updated_at"),
                ],
                &["partner_id"],
            )
            .await?;
            create(
                manager,
                "forums",
                vec![
                    key("id"),
                    key("tenant_id"),
                    key("name"),
                    text("pathway"),
                    text("description"),
                    key("created_at"),
                ],
                &["id"],
            )
            .await?;
            create(
                manager,
                "forum_members",
                vec![
                    key("forum_id"),
                    key("partner_id"),
                    key("tenant_id"),
                    key("role"),
                    key("joined_on"),
                ],
                &["forum_id", "partner_id"],
            )
            .await?;
            create(
                manager,
                "forum_meetings",
                vec![
                    key("id"),
                    key("tenant_id"),
                    key("forum_id"),
                    key("held_on"),
                    text("focus"),
                    text("agenda"),
                    text("minutes"),
                    text("opportunity_id"),
                ],
                &["id"],
            )
            .await?;
            create(
                manager,
                "forum_actions",
                vec![
                    key("id"),
                    key("tenant_id"),
                    key("forum_id"),
                    text("meeting_id"),
                    key("action"),
                    text("owner"),
                    text("due_on"),
                    key("status"),
                    text("done_on"),
                ],
                &["id"],
            )
            .await
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}

/// Indexes for the shortlist's counts: partners by state, role holders by role and date,
/// preferences by trust.
pub mod index_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300003_shortlist_indexes"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for (name, table, columns) in [
                (
                    "known_partners_by_state",
                    "known_partners",
                    &["tenant_id", "status", "contactable"][..],
                ),
                (
                    "partner_eligibility_by_role",
                    "partner_eligibility",
                    &["tenant_id", "role", "valid_until"][..],
                ),
                (
                    "partner_preferences_by_tenant",
                    "partner_preferences",
                    &["tenant_id"][..],
                ),
            ] {
                let mut index = Index::create();
                index.name(name).table(Alias::new(table)).if_not_exists();
                for c in columns {
                    index.col(Alias::new(*c));
                }
                manager.create_index(index.to_owned()).await?;
            }
            Ok(())
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip_and_match_whole_values() {
        let list = to_list(&["pain", "rheumatology"]);
        assert_eq!(list, "|pain|rheumatology|");
        assert_eq!(from_list(&list), ["pain", "rheumatology"]);
        assert!(list.contains("|pain|") && !list.contains("|rheum|"));
        assert_eq!(to_list::<&str>(&[]), "");
    }
}
