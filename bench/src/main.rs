//! hookd-bench: runs the performance scenarios against a release hookd binary.

fn main() {}
