//! `stackgate check`.
