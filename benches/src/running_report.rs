//! Item 8's rows: many running jobs followed by subscribers (issue 20 item 3).

use crate::report::Report;
use crate::suite::{Opts, Plan};

pub(crate) fn item8(rep: &mut Report, _opts: &Opts, _plan: &Plan) {
    rep.na("8. many running jobs followed by subscribers (issue 20 item 3)", "not built yet", "-");
}
