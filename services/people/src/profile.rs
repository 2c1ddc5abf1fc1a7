//! A partner's profile (DOMAIN.md §2): how to reach them, what they need to take part, the lived
//! experience and skills they bring, when they are free, and how they want to be paid, with bank
//! details sealed at rest. One row per partner, kept apart from the record that lists and
//! searches read, so those never touch it.

use alongside_platform::error::{ServiceError, Violations};
use alongside_platform::{OdsCode, Role};
use alongside_proto::people::v1::{
    PaymentSection, Profile, SetBankDetailsRequest, UpdateProfileRequest,
};
use sea_orm::entity::prelude::*;

pub const CONTACT_METHODS: &[&str] = &["email", "phone", "text", "post"];
pub const AVAILABILITY: &[&str] = &["weekday_daytime", "weekday_evening", "weekend"];
pub const PAYMENT_PREFERENCES: &[&str] = &["paid", "reduced", "declined"];

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub partner_id: String,
    pub tenant_id: String,
    pub contact_method: String,
    pub accessibility_needs: String,
    /// One item a line.
    pub lived_experience: String,
    /// One item a line.
    pub skills: String,
    /// One item a line.
    pub availability: String,
    pub availability_note: String,
    pub payment_preference: String,
    pub reduced_amount_pence: i64,
    pub receives_benefits: bool,
    /// Sealed by [`crate::sealed::Sealer`]; empty when none are held.
    pub bank_sealed: String,
    pub bank_masked: String,
    pub bank_updated_at: String,
    pub updated_at: String,
    pub updated_by: String,
    /// One code a line, from [`alongside_proto::ADJUSTMENTS`].
    pub adjustments: String,
    pub address: String,
    pub postcode: String,
    /// Codes of [`alongside_proto::BENEFITS`], one a line; empty unless `receives_benefits`.
    pub benefits: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub fn of_partner(tenant: &OdsCode, partner_id: &str) -> Select<Entity> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant.as_str()))
        .filter(Column::PartnerId.eq(partner_id))
}

/// The profile of a partner who has not filled one in: contact by email, paid.
pub fn blank(tenant: &OdsCode, partner_id: &str) -> Model {
    Model {
        partner_id: partner_id.to_string(),
        tenant_id: tenant.to_string(),
        contact_method: "email".into(),
        accessibility_needs: String::new(),
        lived_experience: String::new(),
        skills: String::new(),
        availability: String::new(),
        availability_note: String::new(),
        payment_preference: "paid".into(),
        reduced_amount_pence: 0,
        receives_benefits: false,
        bank_sealed: String::new(),
        bank_masked: String::new(),
        bank_updated_at: String::new(),
        updated_at: String::new(),
        updated_by: String::new(),
        adjustments: String::new(),
        address: String::new(),
        postcode: String::new(),
        benefits: String::new(),
    }
}

fn lines(value: &str) -> Vec<String> {
    value
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The profile as `role` may see it: staff without the payment section, finance with only it.
pub fn view(m: &Model, role: Role) -> Profile {
    let payment = (role != Role::Staff).then(|| PaymentSection {
        preference: m.payment_preference.clone(),
        reduced_amount_pence: m.reduced_amount_pence,
        receives_benefits: m.receives_benefits,
        bank_details_masked: m.bank_masked.clone(),
        bank_details_updated_at: m.bank_updated_at.clone(),
        benefits: lines(&m.benefits),
    });
    if role == Role::Finance {
        return Profile {
            partner_id: m.partner_id.clone(),
            payment,
            updated_at: m.updated_at.clone(),
            about_withheld: true,
            ..Default::default()
        };
    }
    Profile {
        partner_id: m.partner_id.clone(),
        contact_method: m.contact_method.clone(),
        accessibility_needs: m.accessibility_needs.clone(),
        lived_experience: lines(&m.lived_experience),
        skills: lines(&m.skills),
        availability: lines(&m.availability),
        availability_note: m.availability_note.clone(),
        payment,
        updated_at: m.updated_at.clone(),
        about_withheld: false,
        adjustments: lines(&m.adjustments),
        address: m.address.clone(),
        postcode: m.postcode.clone(),
    }
}

/// A list of short items: trimmed, empty ones dropped, duplicates removed, at most 20 of at most
/// 100 characters each.
fn items(v: &mut Violations, field: &str, values: &[String]) -> String {
    let mut kept: Vec<String> = Vec::new();
    for value in values {
        let value = value.trim().replace(['\r', '\n'], " ");
        if value.is_empty() || kept.iter().any(|k| k.eq_ignore_ascii_case(&value)) {
            continue;
        }
        if value.chars().count() > 100 {
            v.push(
                field,
                format!(
                    "\"{}…\" is longer than 100 characters",
                    value.chars().take(20).collect::<String>()
                ),
            );
        }
        kept.push(value);
    }
    if kept.len() > 20 {
        v.push(field, "list at most 20");
    }
    kept.join("\n")
}

fn text(v: &mut Violations, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    if value.chars().count() > max {
        v.push(field, format!("must be {max} characters or fewer"));
    }
    value.to_string()
}

/// Checks a profile change; returns the row with the change applied to `current`.
pub fn updated(current: &Model, r: &UpdateProfileRequest) -> Result<Model, ServiceError> {
    let mut v = Violations::default();
    let contact_method = r.contact_method.trim();
    if !CONTACT_METHODS.contains(&contact_method) {
        v.push("contact_method", "must be one of email, phone, text, post");
    }
    let mut availability: Vec<String> = Vec::new();
    for slot in &r.availability {
        let slot = slot.trim();
        if !AVAILABILITY.contains(&slot) {
            v.push(
                "availability",
                "each must be one of weekday_daytime, weekday_evening, weekend",
            );
            break;
        }
        if !availability.iter().any(|a| a == slot) {
            availability.push(slot.to_string());
        }
    }
    let preference = r.payment_preference.trim();
    if !PAYMENT_PREFERENCES.contains(&preference) {
        v.push(
            "payment_preference",
            "must be paid, reduced (an amount you choose) or declined (expenses only)",
        );
    }
    let reduced = if preference == "reduced" {
        if !(1..=100_000).contains(&r.reduced_amount_pence) {
            v.push(
                "reduced_amount_pence",
                "enter the amount you want for each activity, between £0.01 and £1,000",
            );
        }
        r.reduced_amount_pence
    } else {
        0
    };
    let mut adjustments: Vec<&str> = Vec::new();
    for code in &r.adjustments {
        let code = code.trim();
        if !alongside_proto::ADJUSTMENTS.iter().any(|(c, _)| *c == code) {
            v.push(
                "adjustments",
                "each must be one of large_print, bsl, easy_read, hearing_loop, step_free",
            );
            break;
        }
        if !adjustments.contains(&code) {
            adjustments.push(code);
        }
    }
    let mut benefits: Vec<&str> = Vec::new();
    for code in &r.benefits {
        let code = code.trim();
        if !alongside_proto::BENEFITS.iter().any(|(c, _)| *c == code) {
            v.push(
                "benefits",
                "each must be one of esa, carers_allowance, universal_credit, pip_dla_aa, other",
            );
            break;
        }
        if !benefits.contains(&code) {
            benefits.push(code);
        }
    }
    if !r.receives_benefits {
        // Which benefits is asked only of someone who says they receive any.
        benefits.clear();
    }
    let address = text(&mut v, "address", &r.address, 300);
    let postcode = if r.postcode.trim().is_empty() {
        String::new()
    } else {
        crate::validate::postcode(&r.postcode).unwrap_or_else(|| {
            v.push("postcode", "enter a UK postcode, like LS1 4AP");
            String::new()
        })
    };
    if contact_method == "post" {
        if address.is_empty() {
            v.push("address", "enter the address to write to");
        }
        if r.postcode.trim().is_empty() {
            v.push("postcode", "enter the postcode to write to");
        }
    }
    let row = Model {
        adjustments: adjustments.join("\n"),
        address,
        postcode,
        contact_method: contact_method.to_string(),
        accessibility_needs: text(&mut v, "accessibility_needs", &r.accessibility_needs, 2000),
        lived_experience: items(&mut v, "lived_experience", &r.lived_experience),
        skills: items(&mut v, "skills", &r.skills),
        availability: availability.join("\n"),
        availability_note: text(&mut v, "availability_note", &r.availability_note, 500),
        payment_preference: preference.to_string(),
        reduced_amount_pence: reduced,
        receives_benefits: r.receives_benefits,
        benefits: benefits.join("\n"),
        ..current.clone()
    };
    v.finish()?;
    Ok(row)
}

/// Bank details, checked: (account name, sort code, account number), digits only.
pub fn bank_details(r: &SetBankDetailsRequest) -> Result<(String, String, String), ServiceError> {
    let mut v = Violations::default();
    let name = r.account_name.trim().to_string();
    if name.is_empty() {
        v.push("account_name", "enter the name on the account");
    } else if name.chars().any(char::is_control) {
        v.push("account_name", "must be on one line");
    } else if name.chars().count() > 18 {
        v.push(
            "account_name",
            "must be 18 characters or fewer (the BACS limit); shorten it as the bank does",
        );
    }
    let digits = |s: &str| -> Option<String> {
        let kept: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        kept.chars().all(|c| c.is_ascii_digit()).then_some(kept)
    };
    let sort_code = digits(&r.sort_code).filter(|d| d.len() == 6);
    if sort_code.is_none() {
        v.push("sort_code", "enter the 6-digit sort code, like 30-99-50");
    }
    let account = digits(&r.account_number).filter(|d| d.len() == 8);
    if account.is_none() {
        v.push(
            "account_number",
            "enter the 8-digit account number (add a 0 in front of a 7-digit number)",
        );
    }
    v.finish()?;
    Ok((
        name,
        sort_code.unwrap_or_default(),
        account.unwrap_or_default(),
    ))
}

/// What may be shown: the last two digits of the sort code and the last four of the account.
pub fn masked(sort_code: &str, account_number: &str) -> String {
    format!(
        "Sort code ••-••-{}, account ••••{}",
        &sort_code[sort_code.len().saturating_sub(2)..],
        &account_number[account_number.len().saturating_sub(4)..]
    )
}

/// The payment terms payments honours, as `PartnerPaymentTermsChanged` carries them.
pub fn payment_terms(m: &Model) -> alongside_proto::people::events::v1::PartnerPaymentTermsChanged {
    alongside_proto::people::events::v1::PartnerPaymentTermsChanged {
        partner_id: m.partner_id.clone(),
        preference: m.payment_preference.clone(),
        reduced_amount_pence: m.reduced_amount_pence,
        receives_benefits: m.receives_benefits,
        benefits: lines(&m.benefits),
        changed_at: m.updated_at.clone(),
    }
}

/// Which benefits a partner receives, so each benefit's own limit can be watched.
pub mod benefits_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_100010_profile_benefits"
        }
    }

    #[derive(DeriveIden)]
    enum PartnerProfiles {
        Table,
        Benefits,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(
                    Table::alter()
                        .table(PartnerProfiles::Table)
                        .add_column(
                            ColumnDef::new(PartnerProfiles::Benefits)
                                .text()
                                .not_null()
                                .default(""),
                        )
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}

/// Adjustments and a postal address, for partners who need them.
pub mod address_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261125_100009_profile_adjustments_address"
        }
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum PartnerProfiles {
        Table,
        Adjustments,
        Address,
        Postcode,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            // One column per statement: SQLite alters one thing at a time.
            for column in [
                PartnerProfiles::Adjustments,
                PartnerProfiles::Address,
                PartnerProfiles::Postcode,
            ] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(PartnerProfiles::Table)
                            .add_column(ColumnDef::new(column).text().not_null().default(""))
                            .to_owned(),
                    )
                    .await?;
            }
            Ok(())
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261125_100004_partner_profiles"
        }
    }

    #[derive(DeriveIden)]
    enum PartnerProfiles {
        Table,
        PartnerId,
        TenantId,
        ContactMethod,
        AccessibilityNeeds,
        LivedExperience,
        Skills,
        Availability,
        AvailabilityNote,
        PaymentPreference,
        ReducedAmountPence,
        ReceivesBenefits,
        BankSealed,
        BankMasked,
        BankUpdatedAt,
        UpdatedAt,
        UpdatedBy,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let text =
                |c: PartnerProfiles| ColumnDef::new(c).text().not_null().default("").to_owned();
            manager
                .create_table(
                    Table::create()
                        .table(PartnerProfiles::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(PartnerProfiles::PartnerId)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(
                            ColumnDef::new(PartnerProfiles::TenantId)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PartnerProfiles::ContactMethod)
                                .string()
                                .not_null(),
                        )
                        .col(text(PartnerProfiles::AccessibilityNeeds))
                        .col(text(PartnerProfiles::LivedExperience))
                        .col(text(PartnerProfiles::Skills))
                        .col(text(PartnerProfiles::Availability))
                        .col(text(PartnerProfiles::AvailabilityNote))
                        .col(
                            ColumnDef::new(PartnerProfiles::PaymentPreference)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PartnerProfiles::ReducedAmountPence)
                                .big_integer()
                                .not_null()
                                .default(0),
                        )
                        .col(
                            ColumnDef::new(PartnerProfiles::ReceivesBenefits)
                                .boolean()
                                .not_null()
                                .default(false),
                        )
                        .col(text(PartnerProfiles::BankSealed))
                        .col(text(PartnerProfiles::BankMasked))
                        .col(text(PartnerProfiles::BankUpdatedAt))
                        .col(text(PartnerProfiles::UpdatedAt))
                        .col(text(PartnerProfiles::UpdatedBy))
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(PartnerProfiles::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> UpdateProfileRequest {
        UpdateProfileRequest {
            partner_id: "ptn_1".into(),
            contact_method: "text".into(),
            accessibility_needs: " Step-free access; papers a week ahead ".into(),
            lived_experience: vec!["COPD".into(), " copd ".into(), "Carer".into(), "".into()],
            skills: vec!["Chairing".into()],
            availability: vec!["weekend".into(), "weekend".into()],
            availability_note: "".into(),
            payment_preference: "reduced".into(),
            reduced_amount_pence: 5000,
            receives_benefits: true,
            adjustments: vec!["large_print".into(), "step_free".into()],
            address: String::new(),
            postcode: String::new(),
            benefits: vec!["carers_allowance".into(), "carers_allowance".into()],
        }
    }

    #[test]
    fn benefits_are_kept_once_and_only_while_receiving_any() {
        let current = blank(&OdsCode::parse("RZA").unwrap(), "ptn_1");
        let row = updated(&current, &request()).unwrap();
        assert_eq!(row.benefits, "carers_allowance");
        let none = updated(
            &current,
            &UpdateProfileRequest {
                receives_benefits: false,
                ..request()
            },
        )
        .unwrap();
        assert!(none.benefits.is_empty());
        let bad = updated(
            &current,
            &UpdateProfileRequest {
                benefits: vec!["jackpot".into()],
                ..request()
            },
        )
        .unwrap_err();
        assert_eq!(fields(bad), ["benefits"]);
    }

    fn fields(err: ServiceError) -> Vec<String> {
        match err {
            ServiceError::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_change_is_cleaned_and_lists_lose_repeats() {
        let tenant = OdsCode::parse("RZA").unwrap();
        let row = updated(&blank(&tenant, "ptn_1"), &request()).unwrap();
        assert_eq!(
            row.accessibility_needs,
            "Step-free access; papers a week ahead"
        );
        assert_eq!(lines(&row.lived_experience), ["COPD", "Carer"]);
        assert_eq!(lines(&row.availability), ["weekend"]);
        assert_eq!(row.reduced_amount_pence, 5000);

        let paid = updated(
            &row,
            &UpdateProfileRequest {
                payment_preference: "paid".into(),
                ..request()
            },
        )
        .unwrap();
        assert_eq!(
            paid.reduced_amount_pence, 0,
            "only a reduced preference keeps an amount"
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let tenant = OdsCode::parse("RZA").unwrap();
        let bad = UpdateProfileRequest {
            contact_method: "pigeon".into(),
            availability: vec!["midnight".into()],
            payment_preference: "reduced".into(),
            reduced_amount_pence: 0,
            skills: vec!["x".repeat(101)],
            ..request()
        };
        assert_eq!(
            fields(updated(&blank(&tenant, "ptn_1"), &bad).unwrap_err()),
            [
                "contact_method",
                "availability",
                "reduced_amount_pence",
                "skills"
            ]
        );
    }

    #[test]
    fn each_role_sees_its_part() {
        let tenant = OdsCode::parse("RZA").unwrap();
        let row = updated(&blank(&tenant, "ptn_1"), &request()).unwrap();
        let staff = view(&row, Role::Staff);
        assert!(staff.payment.is_none());
        assert_eq!(staff.skills, ["Chairing"]);
        let finance = view(&row, Role::Finance);
        assert!(finance.about_withheld);
        assert!(finance.accessibility_needs.is_empty() && finance.lived_experience.is_empty());
        assert!(finance.payment.unwrap().receives_benefits);
        let partner = view(&row, Role::Partner);
        assert!(!partner.about_withheld && partner.payment.is_some());
    }

    #[test]
    fn bank_details_are_checked_and_masked() {
        let ok = bank_details(&SetBankDetailsRequest {
            partner_id: "ptn_1".into(),
            account_name: "A Patel".into(),
            sort_code: "30-99-50".into(),
            account_number: "1234 5678".into(),
        })
        .unwrap();
        assert_eq!(ok, ("A Patel".into(), "309950".into(), "12345678".into()));
        assert_eq!(masked(&ok.1, &ok.2), "Sort code ••-••-50, account ••••5678");
        let err = bank_details(&SetBankDetailsRequest {
            partner_id: "ptn_1".into(),
            account_name: "A name far longer than BACS allows".into(),
            sort_code: "30-99".into(),
            account_number: "1234567".into(),
        })
        .unwrap_err();
        assert_eq!(fields(err), ["account_name", "sort_code", "account_number"]);
    }
}
