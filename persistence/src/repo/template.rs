//! Statements built once per shape.
//!
//! Many statements have SQL text that depends only on the shape of a request (which filters it
//! has, its order, whether it continues a page), not on its values. Such a statement is built
//! once per shape with stand-in values; each use clones it and swaps its own values in for the
//! stand-ins. Building a case list's statement with sea-query (its 32 columns, the name
//! subqueries, their aliases, all allocated and dropped again) took about a tenth of a page's
//! CPU on SQLite.
//!
//! Stand-ins are values no statement of the shape holds otherwise: the template is built from
//! stand-ins only, so what a caller sends can never be mistaken for one.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use sea_orm::{Statement, Value};

/// The most shapes kept. Filters combine into many more shapes than are ever used; past this
/// many, a statement of a new shape is built for its one use and not kept.
const MOST_SHAPES: usize = 256;

/// Templates by shape `K`.
#[derive(Debug)]
pub(crate) struct Templates<K> {
    built: RwLock<HashMap<K, Arc<Statement>>>,
}

impl<K: Hash + Eq> Templates<K> {
    /// No templates yet.
    pub(crate) fn new() -> Self {
        Self {
            built: RwLock::new(HashMap::new()),
        }
    }

    /// The statement of shape `key`: the template (built by `build` from stand-ins on first
    /// use) with every value passed through `fill`, which replaces the stand-ins it knows.
    pub(crate) fn statement(
        &self,
        key: K,
        build: impl FnOnce() -> Statement,
        fill: impl Fn(&mut Value),
    ) -> Statement {
        let kept = self
            .built
            .read()
            .ok()
            .and_then(|built| built.get(&key).cloned());
        let template = match kept {
            Some(template) => template,
            None => {
                let template = Arc::new(build());
                if let Ok(mut built) = self.built.write()
                    && built.len() < MOST_SHAPES
                {
                    built.insert(key, template.clone());
                }
                template
            }
        };
        let mut statement = Statement::clone(&template);
        if let Some(values) = statement.values.as_mut() {
            values.0.iter_mut().for_each(fill);
        }
        statement
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::DbBackend;

    #[test]
    fn a_shape_is_built_once_and_every_use_gets_its_own_values() {
        let templates = Templates::new();
        let built = std::cell::Cell::new(0);
        let stand_in = 7_i64;
        let build = || {
            built.set(built.get() + 1);
            Statement::from_sql_and_values(DbBackend::Sqlite, "SELECT ?", [stand_in.into()])
        };
        for value in [1_i64, 2] {
            let statement = templates.statement("shape", build, |v| {
                if let Value::BigInt(Some(n)) = v
                    && *n == stand_in
                {
                    *n = value;
                }
            });
            assert_eq!(
                statement.values.map(|v| v.0),
                Some(vec![Value::BigInt(Some(value))])
            );
        }
        assert_eq!(built.get(), 1);
    }

    #[test]
    fn past_the_most_shapes_a_statement_is_built_for_its_one_use() {
        let templates = Templates::new();
        let build = || Statement::from_string(DbBackend::Sqlite, "SELECT 1");
        for shape in 0..MOST_SHAPES + 10 {
            templates.statement(shape, build, |_| {});
        }
        assert_eq!(
            templates.built.read().map(|b| b.len()).ok(),
            Some(MOST_SHAPES)
        );
        let statement = templates.statement(MOST_SHAPES + 20, build, |_| {});
        assert_eq!(statement.sql, "SELECT 1");
    }
}
