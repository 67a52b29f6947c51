//! Item 9's rows: a store that has kept a million jobs (issue 20 item 4).

use crate::report::Report;
use crate::suite::{Opts, Plan};

pub(crate) fn item9(rep: &mut Report, _opts: &Opts, _plan: &Plan) {
    rep.na("9. a store that has kept a million jobs (issue 20 item 4)", "not built yet", "-");
}
