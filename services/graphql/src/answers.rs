//! Which public requests `okienko_app::usage_cache` may keep whole answers of: those that read
//! availability and nothing else (the web asks before it runs the request).

/// True when every operation of the request is a query whose fields are `availability` (or
/// `__typename`) only: the one read whose answer `UsageCache::keep_answer` may keep.
pub fn reads_only_availability(req: &mut async_graphql::Request) -> bool {
    use async_graphql::parser::types::{OperationType, Selection};
    let Ok(doc) = req.parsed_query() else {
        return false;
    };
    doc.operations.iter().all(|(_, op)| {
        op.node.ty == OperationType::Query
            && op.node.selection_set.node.items.iter().all(|s| {
                matches!(&s.node, Selection::Field(f)
                    if matches!(f.node.name.node.as_str(), "availability" | "__typename"))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_queries_of_availability_are_kept() {
        let keepable = |q: &str| reads_only_availability(&mut async_graphql::Request::new(q));
        assert!(keepable(
            "{ availability(serviceId: 1, from: \"2026-12-01\", to: \"2026-12-01\") { date } }"
        ));
        assert!(keepable(
            "query A { __typename a: availability(serviceId: 1, from: \"x\", to: \"x\") { date } }"
        ));
        assert!(!keepable("{ availability(serviceId: 1, from: \"x\", to: \"x\") { date } booking(token: \"t\") { code } }"));
        assert!(!keepable("{ ...F } fragment F on Query { availability(serviceId: 1, from: \"x\", to: \"x\") { date } }"));
        assert!(!keepable(
            "mutation { cancelBooking(token: \"t\") { code } }"
        ));
        assert!(!keepable("query A { availability(serviceId: 1, from: \"x\", to: \"x\") { date } } query B { tenant { name } }"));
        assert!(!keepable("{ availability("));
    }
}
