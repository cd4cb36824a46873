//! The miners resources against the simulated node.

use crate::common::{Harness, Sample};
use crate::table::SampleRequest;

/// The sample request of each miners operation.
pub fn samples(_h: &Harness, _s: &Sample) -> Vec<SampleRequest> {
    Vec::new()
}
