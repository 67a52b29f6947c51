//! Item 10's rows: several manager processes on one PostgreSQL (issue 20 item 5).

use crate::report::Report;
use crate::suite::{Opts, Plan};

pub(crate) fn item10(rep: &mut Report, _opts: &Opts, _plan: &Plan) {
    rep.na("10. several manager processes on one PostgreSQL (issue 20 item 5)", "not built yet", "-");
}
