//! Paging of list calls: 1-based pages, 25 rows by default, at most 200.

use alongside_proto::common::v1::{PageInfo, PageRequest};

use crate::error::{ServiceError, Violations};

pub const DEFAULT_PAGE_SIZE: u32 = 25;
pub const MAX_PAGE_SIZE: u32 = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub page_size: u32,
}

impl Page {
    pub fn from_request(request: Option<&PageRequest>) -> Result<Self, ServiceError> {
        let page = request.map(|p| p.page).filter(|&p| p > 0).unwrap_or(1);
        let page_size = request
            .map(|p| p.page_size)
            .filter(|&s| s > 0)
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let mut v = Violations::default();
        v.check(
            page_size <= MAX_PAGE_SIZE,
            "page.page_size",
            "must be at most 200",
        );
        v.finish()?;
        Ok(Self { page, page_size })
    }

    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.page_size)
    }

    pub fn limit(&self) -> u64 {
        u64::from(self.page_size)
    }

    pub fn info(&self, total: u64) -> PageInfo {
        PageInfo {
            page: self.page,
            page_size: self.page_size,
            total,
        }
    }
}

/// Counts what `select` matches with a plain `SELECT COUNT(*)`: sea-orm's paginator wraps the
/// whole row (every column) in a subquery, which makes SQLite read each matching row instead of
/// an index that covers the filter.
pub async fn count<E: sea_orm::EntityTrait>(
    select: sea_orm::Select<E>,
    db: &impl sea_orm::ConnectionTrait,
) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    let n: Option<i64> = select
        .select_only()
        .expr(sea_orm::sea_query::Expr::cust("COUNT(*)"))
        .into_tuple()
        .one(db)
        .await?;
    Ok(n.unwrap_or(0).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_limits() {
        let p = Page::from_request(None).unwrap();
        assert_eq!((p.page, p.page_size, p.offset()), (1, 25, 0));
        let p = Page::from_request(Some(&PageRequest {
            page: 3,
            page_size: 10,
        }))
        .unwrap();
        assert_eq!(p.offset(), 20);
        assert!(Page::from_request(Some(&PageRequest {
            page: 1,
            page_size: 500
        }))
        .is_err());
    }
}
