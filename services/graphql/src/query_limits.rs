//! The depth limit of every schema, checked on the parsed document before validation.
//!
//! Why not async-graphql's `limit_depth`: it counts the standard introspection query (the one
//! GraphiQL, schemathesis and code generators send) like any other, and that query nests
//! `ofType` eight or nine times to unwrap types such as `[[String!]!]!`, so with a limit that
//! keeps ordinary queries cheap the tools cannot load the schema. Here an operation that asks
//! for nothing but introspection (`__schema`, `__type`, `__typename` at its root) has its
//! `ofType` chains bounded apart, at [`MAX_OF_TYPE`] (what the standard queries use; no
//! schema's types nest deeper), and everything else under the same [`MAX_DEPTH`]. An operation
//! that mixes introspection with ordinary fields is counted whole, `ofType` included, so
//! introspection cannot carry a deep query past the limit. The complexity limit stays
//! async-graphql's and applies to every operation.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{ErrorExtensionValues, Name, Positioned, ServerError, ServerResult, Variables};
use okienko_domain::Code;

/// A schema of these roots with the limits every API has: depth ([`QueryLimits`]) and
/// complexity ([`MAX_COMPLEXITY`]).
pub fn limited<Q, M, S>(query: Q, mutation: M, subscription: S) -> async_graphql::Schema<Q, M, S>
where
    Q: async_graphql::ObjectType + 'static,
    M: async_graphql::ObjectType + 'static,
    S: async_graphql::SubscriptionType + 'static,
{
    async_graphql::Schema::build(query, mutation, subscription)
        .extension(QueryLimits)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The most fields one operation of any schema may cost (async-graphql's complexity).
pub const MAX_COMPLEXITY: usize = 2000;
/// The deepest selection any schema answers (introspection's `ofType` chains aside).
pub const MAX_DEPTH: usize = 12;
/// The longest chain of nested `ofType` an introspection-only operation may ask for. The
/// standard introspection queries nest it 8 (graphql-js 16, graphql-core) or 9 times.
pub const MAX_OF_TYPE: usize = 9;

/// Installs the check on a schema (`Schema::build(…).extension(QueryLimits)`).
pub struct QueryLimits;

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimits)
    }
}

#[async_trait::async_trait]
impl Extension for QueryLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        check(&doc).map_err(too_deep)?;
        Ok(doc)
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooDeep {
    Depth,
    OfType,
}

fn too_deep(why: TooDeep) -> ServerError {
    let message = match why {
        TooDeep::Depth => {
            format!("Zapytanie jest zagnieżdżone zbyt głęboko (najwyżej {MAX_DEPTH} poziomów).")
        }
        TooDeep::OfType => format!(
            "Zapytanie o schemat zagnieżdża pole ofType zbyt głęboko (najwyżej {MAX_OF_TYPE} razy)."
        ),
    };
    let mut e = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", Code::QueryTooDeep.as_str());
    e.extensions = Some(ext);
    e
}

/// Checks every operation of a document.
pub fn check(doc: &ExecutableDocument) -> Result<(), TooDeep> {
    let mut walk = Walk {
        fragments: &doc.fragments,
        memo: HashMap::new(),
        stack: Vec::new(),
    };
    for (_, op) in doc.operations.iter() {
        let set = &op.node.selection_set.node;
        let introspection_only = walk.root_is_introspection(set);
        let m = walk.set(set, introspection_only);
        if introspection_only {
            if m.of_type > MAX_OF_TYPE {
                return Err(TooDeep::OfType);
            }
            if m.depth > MAX_DEPTH {
                return Err(TooDeep::Depth);
            }
        } else if m.depth > MAX_DEPTH {
            return Err(TooDeep::Depth);
        }
    }
    Ok(())
}

/// The depth of a selection set (fields below it, `ofType` not counted when it is set apart)
/// and its longest chain of nested `ofType`.
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    depth: usize,
    of_type: usize,
}

impl Measure {
    fn max(self, o: Measure) -> Measure {
        Measure {
            depth: self.depth.max(o.depth),
            of_type: self.of_type.max(o.of_type),
        }
    }
}

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// A fragment measures the same wherever it is spread: measured once (a document that
    /// spreads fragments in fragments many times over costs no more than its text).
    memo: HashMap<(&'a str, bool), Measure>,
    /// Fragments being measured: a cycle (refused by validation later) ends here.
    stack: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    fn root_is_introspection(&mut self, set: &'a SelectionSet) -> bool {
        set.items.iter().all(|s| match &s.node {
            Selection::Field(f) => f.node.name.node.starts_with("__"),
            Selection::InlineFragment(i) => self.root_is_introspection(&i.node.selection_set.node),
            Selection::FragmentSpread(sp) => {
                let name = sp.node.fragment_name.node.as_str();
                match self.fragments.get(name) {
                    Some(f) if !self.stack.contains(&name) => {
                        self.stack.push(name);
                        let ok = self.root_is_introspection(&f.node.selection_set.node);
                        self.stack.pop();
                        ok
                    }
                    _ => true,
                }
            }
        })
    }

    fn set(&mut self, set: &'a SelectionSet, apart: bool) -> Measure {
        let mut m = Measure::default();
        for s in &set.items {
            let here = match &s.node {
                Selection::Field(f) => {
                    let below = self.set(&f.node.selection_set.node, apart);
                    if apart && f.node.name.node == "ofType" {
                        Measure {
                            depth: below.depth,
                            of_type: below.of_type + 1,
                        }
                    } else {
                        Measure {
                            depth: below.depth + 1,
                            of_type: below.of_type,
                        }
                    }
                }
                Selection::InlineFragment(i) => self.set(&i.node.selection_set.node, apart),
                Selection::FragmentSpread(sp) => {
                    self.fragment(sp.node.fragment_name.node.as_str(), apart)
                }
            };
            m = m.max(here);
        }
        m
    }

    fn fragment(&mut self, name: &'a str, apart: bool) -> Measure {
        if let Some(m) = self.memo.get(&(name, apart)) {
            return *m;
        }
        let Some(f) = self.fragments.get(name) else {
            return Measure::default();
        };
        if self.stack.contains(&name) {
            return Measure::default();
        }
        self.stack.push(name);
        let m = self.set(&f.node.selection_set.node, apart);
        self.stack.pop();
        self.memo.insert((name, apart), m);
        m
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn checked(q: &str) -> Result<(), TooDeep> {
        check(&async_graphql::parser::parse_query(q).unwrap())
    }

    fn of_types(n: usize) -> String {
        let mut s = "kind name".to_string();
        for _ in 0..n {
            s = format!("kind name ofType {{ {s} }}");
        }
        s
    }

    /// The standard introspection query (graphql-js 16's `getIntrospectionQuery`, as GraphiQL
    /// and schemathesis send it) is let through.
    #[test]
    fn the_standard_introspection_query_passes() {
        assert_eq!(checked(STANDARD_INTROSPECTION), Ok(()));
    }

    #[test]
    fn of_type_is_bounded_at_what_the_standard_queries_use() {
        let q = |n| {
            format!(
                "{{ __schema {{ types {{ fields {{ type {{ {} }} }} }} }} }}",
                of_types(n)
            )
        };
        assert_eq!(checked(&q(MAX_OF_TYPE)), Ok(()));
        assert_eq!(checked(&q(MAX_OF_TYPE + 1)), Err(TooDeep::OfType));
        assert_eq!(checked(&q(40)), Err(TooDeep::OfType));
    }

    #[test]
    fn other_introspection_fields_count_as_depth() {
        // `__type` → fields → type → fields → type … without ofType: plain depth.
        let mut s = "name".to_string();
        for _ in 0..7 {
            s = format!("fields {{ type {{ {s} }} }}");
        }
        assert_eq!(
            checked(&format!("{{ __type(name: \"Query\") {{ {s} }} }}")),
            Err(TooDeep::Depth)
        );
    }

    /// Mixing introspection with ordinary fields does not carry a deep query through: the
    /// whole operation is counted, `ofType` included.
    #[test]
    fn mixed_operations_are_counted_whole() {
        let q = format!(
            "{{ tenant {{ name }} __schema {{ types {{ fields {{ type {{ {} }} }} }} }} }}",
            of_types(8)
        );
        assert_eq!(checked(&q), Err(TooDeep::Depth));
        assert_eq!(checked("{ tenant { name } __typename }"), Ok(()));
    }

    #[test]
    fn ordinary_depth_is_limited() {
        let mut s = "id".to_string();
        for _ in 0..MAX_DEPTH - 1 {
            s = format!("a {{ {s} }}");
        }
        assert_eq!(checked(&format!("{{ {s} }}")), Ok(()));
        assert_eq!(checked(&format!("{{ b {{ {s} }} }}")), Err(TooDeep::Depth));
    }

    /// Fragments count where they are spread; spreading one in itself ends, and a fragment
    /// spread many times over is measured once.
    #[test]
    fn fragments_are_followed_once_and_cycles_end() {
        let mut q = String::from("query { ...F0 } fragment F0 on Query { a { ...F1 } }");
        for i in 1..13 {
            q += &format!(
                " fragment F{i} on T {{ a {{ ...F{} ...F{} }} }}",
                i + 1,
                i + 1
            );
        }
        q += " fragment F13 on T { id }";
        assert_eq!(checked(&q), Err(TooDeep::Depth));
        assert_eq!(
            checked("query { ...A } fragment A on Query { a { ...A } }"),
            Ok(())
        );
        let hidden = format!(
            "query {{ ...I }} fragment I on Query {{ __schema {{ types {{ fields {{ type {{ {} }} }} }} }} }}",
            of_types(12)
        );
        assert_eq!(checked(&hidden), Err(TooDeep::OfType));
    }

    const STANDARD_INTROSPECTION: &str = r#"
    query IntrospectionQuery {
      __schema {
        description
        queryType { name }
        mutationType { name }
        subscriptionType { name }
        types { ...FullType }
        directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
      }
    }
    fragment FullType on __Type {
      kind name description specifiedByURL
      fields(includeDeprecated: true) {
        name description
        args(includeDeprecated: true) { ...InputValue }
        type { ...TypeRef }
        isDeprecated deprecationReason
      }
      inputFields(includeDeprecated: true) { ...InputValue }
      interfaces { ...TypeRef }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { ...TypeRef }
    }
    fragment InputValue on __InputValue {
      name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
    }
    fragment TypeRef on __Type {
      kind name
      ofType { kind name ofType { kind name ofType { kind name ofType { kind name
        ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
    }"#;
}
