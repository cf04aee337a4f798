//! A fleet: instances sharing one Redis, under a bounded load of logins, renewals across
//! instances and logouts (`load`), and under faults of Redis, the identity provider and one
//! instance's clock (`faults`). Skipped without `redis-server`, unless `REQUIRE_REDIS` is set.

#[path = "../common/mod.rs"]
mod common;

mod faults;
mod load;

fn main() {
    use common::harness::{Needs, Runtime, run, trial};
    run(vec![
        trial(
            "three_instances_share_logouts_and_renewals_under_load",
            Needs::Redis,
            Runtime::MultiThread,
            load::three_instances_share_logouts_and_renewals_under_load,
        ),
        trial(
            "the_fleet_keeps_its_promises_under_faults",
            Needs::Redis,
            Runtime::MultiThread,
            faults::the_fleet_keeps_its_promises_under_faults,
        ),
        trial(
            "a_store_that_fails_open_is_caught",
            Needs::Redis,
            Runtime::MultiThread,
            faults::a_store_that_fails_open_is_caught,
        ),
    ]);
}
