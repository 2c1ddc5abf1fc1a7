//! What the suite's tests share: the embedded suite with its demo data, on the tests' day.

use alongside_suite::{Options, Suite};

/// The suite with demo data in `data`, on the day the tests run on.
pub async fn demo_suite(data: &std::path::Path) -> Suite {
    Suite::start(Options {
        port: 0,
        data_dir: data.to_path_buf(),
        demo: true,
        clock: alongside_platform::testing::clock_settings(),
    })
    .await
    .expect("the suite starts")
}
