//! Sprig's date functions (`now`, `date`, `dateInZone`, `toDate`, …).

use crate::render::funcs::FuncSpec;

pub(super) const FUNCS: &[FuncSpec] = &[];
