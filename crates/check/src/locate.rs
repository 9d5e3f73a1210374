//! Positions of resources and properties in the template text, from the template crate's node
//! tree (`Resources.{id}.Properties.{Property}.{Sub}`).

use stackgate_template::node::{self, Node};

pub struct Locator {
    root: Option<Node>,
}

impl Locator {
    pub fn new(source: &str) -> Locator {
        Locator {
            root: node::parse(source).0,
        }
    }

    /// The position of the deepest node found along `path` (keys; a number indexes a list): the
    /// key's position for map entries.
    pub fn find(&self, path: &[&str]) -> Option<(usize, usize)> {
        self.walk(path).map(|(pos, _)| pos)
    }

    /// Like [`find`](Self::find), but only when every step of `path` is in the text.
    pub fn find_exact(&self, path: &[&str]) -> Option<(usize, usize)> {
        self.walk(path)
            .filter(|&(_, matched)| matched == path.len())
            .map(|(pos, _)| pos)
    }

    /// The position of the deepest step of `path` found, and how many steps matched.
    fn walk(&self, path: &[&str]) -> Option<((usize, usize), usize)> {
        let mut node = self.root.as_ref()?;
        let mut at = None;
        let mut matched = 0;
        for step in path {
            let next = match (&node.as_map(), &node.as_seq()) {
                (Some(entries), _) => entries
                    .iter()
                    .find(|(k, _)| k.as_str() == Some(step))
                    .map(|(k, v)| ((k.line, k.col), v)),
                (_, Some(items)) => step
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|v| ((v.line, v.col), v)),
                _ => None,
            };
            match next {
                Some((pos, v)) => {
                    at = Some(pos);
                    matched += 1;
                    node = v;
                }
                None => break,
            }
        }
        at.map(|pos| (pos, matched))
    }
}
