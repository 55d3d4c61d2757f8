//! Sprig's random and crypto functions.

use crate::render::funcs::FuncSpec;

pub(super) const FUNCS: &[FuncSpec] = &[];
