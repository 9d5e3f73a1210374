//! The template text as a tree of nodes with positions and tags. This is the ONLY module that
//! touches the YAML parser (`saphyr-parser`): everything else works on [`Node`].
//!
//! JSON templates parse here too: JSON is YAML flow syntax.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// How a scalar was written: plain scalars are typed by YAML (numbers, booleans, null); quoted and
/// block scalars are always strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Scalar(String, Style),
    Seq(Vec<Node>),
    /// Keys in document order.
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    /// The tag as written: `!Ref`, `!GetAtt`, `!!str` (core-schema tags keep their `!!` form).
    pub tag: Option<String>,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub col: usize,
}

/// A problem found while parsing (1-based position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseProblem {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value for `key` when this is a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name for the node's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            NodeValue::Scalar(..) => "a scalar",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a map",
        }
    }
}

fn tag_text(tag: &saphyr_parser::Tag) -> String {
    if tag.handle == "tag:yaml.org,2002:" {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

fn pos(span: &Span) -> (usize, usize) {
    (span.start.line().max(1), span.start.col() + 1)
}

/// Deeper nesting is refused (evaluation recurses over the tree).
const MAX_DEPTH: usize = 256;
/// At most this many nodes copied by aliases in one document.
const MAX_ALIAS_NODES: usize = 1_000_000;

fn node_count(node: &Node) -> usize {
    match &node.value {
        NodeValue::Scalar(..) => 1,
        NodeValue::Seq(items) => items.iter().map(node_count).fold(1, usize::saturating_add),
        NodeValue::Map(entries) => entries
            .iter()
            .map(|(k, v)| node_count(k).saturating_add(node_count(v)))
            .fold(1, usize::saturating_add),
    }
}

enum Frame {
    Seq(Node, usize, Vec<Node>),
    Map(Node, usize, Vec<(Node, Node)>, Option<Node>),
}

/// Parses the first document of `text`. Returns the root (when the text parsed) and every
/// problem found (syntax errors, duplicate keys, unknown aliases).
pub fn parse(text: &str) -> (Option<Node>, Vec<ParseProblem>) {
    let mut problems = Vec::new();
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, (Node, usize)> =
        std::collections::HashMap::new();
    let mut expanded = 0usize;
    let mut root: Option<Node> = None;
    let mut docs = 0usize;
    // A guard against any parser misbehaviour: never loop for ever.
    let max_events = text.len().saturating_mul(4).saturating_add(64);
    let mut count = 0usize;
    loop {
        count += 1;
        if count > max_events {
            problems.push(ParseProblem {
                line: 1,
                col: 1,
                message: "the YAML parser did not finish".into(),
            });
            return (None, problems);
        }
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Err(e)) => {
                let m = e.marker();
                problems.push(ParseProblem {
                    line: m.line().max(1),
                    col: m.col() + 1,
                    message: format!("invalid YAML: {}", e.info()),
                });
                return (None, problems);
            }
            Some(Ok(ev)) => ev,
        };
        let (line, col) = pos(&span);
        let is_seq = matches!(event, Event::SequenceStart(..));
        let complete: Option<(Node, usize)> = match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    problems.push(ParseProblem {
                        line,
                        col,
                        message: "a template holds one YAML document; found a second `---`".into(),
                    });
                    return (None, problems);
                }
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some((n, size)) => {
                    // Aliases copy their anchor's tree: bound the total so that nested aliases
                    // ("billion laughs") cannot exhaust memory.
                    expanded = expanded.saturating_add(*size);
                    if expanded > MAX_ALIAS_NODES {
                        problems.push(ParseProblem {
                            line,
                            col,
                            message: "aliases expand to too many nodes".into(),
                        });
                        return (None, problems);
                    }
                    let mut n = n.clone();
                    n.line = line;
                    n.col = col;
                    Some((n, 0))
                }
                None => {
                    problems.push(ParseProblem {
                        line,
                        col,
                        message: "alias to an unknown anchor".into(),
                    });
                    return (None, problems);
                }
            },
            Event::Scalar(value, style, anchor, tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    _ => Style::Quoted,
                };
                Some((
                    Node {
                        value: NodeValue::Scalar(value.into_owned(), style),
                        tag: tag.map(|t| tag_text(&t)),
                        line,
                        col,
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                if stack.len() >= MAX_DEPTH {
                    problems.push(ParseProblem {
                        line,
                        col,
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                    });
                    return (None, problems);
                }
                let node = Node {
                    value: if is_seq {
                        NodeValue::Seq(Vec::new())
                    } else {
                        NodeValue::Map(Vec::new())
                    },
                    tag: tag.map(|t| tag_text(&t)),
                    line,
                    col,
                };
                stack.push(if is_seq {
                    Frame::Seq(node, anchor, Vec::new())
                } else {
                    Frame::Map(node, anchor, Vec::new(), None)
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(mut node, anchor, items)) => {
                    node.value = NodeValue::Seq(items);
                    Some((node, anchor))
                }
                _ => {
                    problems.push(ParseProblem {
                        line,
                        col,
                        message: "invalid YAML: unbalanced sequence".into(),
                    });
                    return (None, problems);
                }
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(mut node, anchor, entries, _)) => {
                    node.value = NodeValue::Map(entries);
                    Some((node, anchor))
                }
                _ => {
                    problems.push(ParseProblem {
                        line,
                        col,
                        message: "invalid YAML: unbalanced mapping".into(),
                    });
                    return (None, problems);
                }
            },
        };
        let Some((node, anchor)) = complete else {
            continue;
        };
        if anchor > 0 {
            let size = node_count(&node);
            anchors.insert(anchor, (node.clone(), size));
        }
        match stack.last_mut() {
            None => {
                if root.is_none() {
                    root = Some(node);
                }
            }
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, entries, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let NodeValue::Scalar(k, _) = &key.value
                        && let Some((first, _)) = entries
                            .iter()
                            .find(|(e, _)| matches!(&e.value, NodeValue::Scalar(ek, _) if ek == k))
                    {
                        problems.push(ParseProblem {
                            line: key.line,
                            col: key.col,
                            message: format!(
                                "duplicate key `{k}` (first at line {}:{})",
                                first.line, first.col
                            ),
                        });
                    }
                    entries.push((key, node));
                }
            },
        }
    }
    (root, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Node {
        let (node, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        node.unwrap_or_else(|| panic!("no node"))
    }

    #[test]
    fn tags_and_positions() {
        let n = ok("A:\n  B: !Ref X\n  C: !GetAtt [R, Arn]\n");
        let a = n.get("A").unwrap_or_else(|| panic!());
        let b = a.get("B").unwrap_or_else(|| panic!());
        assert_eq!(b.tag.as_deref(), Some("!Ref"));
        assert_eq!((b.line, b.col), (2, 6));
        let c = a.get("C").unwrap_or_else(|| panic!());
        assert_eq!(c.tag.as_deref(), Some("!GetAtt"));
        assert_eq!(c.as_seq().map(<[Node]>::len), Some(2));
    }

    #[test]
    fn styles() {
        let n = ok("a: 1\nb: '1'\nc: |\n  x\n");
        assert!(matches!(
            n.get("a").map(|n| &n.value),
            Some(NodeValue::Scalar(_, Style::Plain))
        ));
        assert!(matches!(
            n.get("b").map(|n| &n.value),
            Some(NodeValue::Scalar(_, Style::Quoted))
        ));
        assert_eq!(n.get("c").and_then(Node::as_str), Some("x\n"));
    }

    #[test]
    fn anchors_and_aliases() {
        let n = ok("a: &x {k: v}\nb: *x\n");
        assert_eq!(
            n.get("b").and_then(|b| b.get("k")).and_then(Node::as_str),
            Some("v")
        );
    }

    #[test]
    fn json_parses() {
        let n = ok(r#"{"a": {"b": [1, 2.5, true, null, "s"]}, "c": false}"#);
        let b = n
            .get("a")
            .and_then(|a| a.get("b"))
            .and_then(Node::as_seq)
            .unwrap_or_default();
        assert_eq!(b.len(), 5);
        assert_eq!(b.first().and_then(Node::as_str), Some("1"));
        assert_eq!(
            b.get(4).map(|n| &n.value),
            Some(&NodeValue::Scalar("s".into(), Style::Quoted))
        );
    }

    #[test]
    fn duplicate_keys() {
        let (_, problems) = parse("a: 1\nb: 2\na: 3\n");
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].line, problems[0].col), (3, 1));
        assert!(problems[0].message.contains("duplicate key `a`"));
    }

    #[test]
    fn depth_and_alias_bombs_are_refused() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let (node, problems) = parse(&deep);
        assert!(node.is_none());
        assert_eq!(problems.len(), 1, "{problems:?}");
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("b{}", i - 1)
            };
            bomb.push_str(&format!(
                "b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let (node, problems) = parse(&bomb);
        assert!(node.is_none());
        assert!(problems[0].message.contains("too many nodes"));
    }

    #[test]
    fn syntax_error_position() {
        let (node, problems) = parse("a: [1, 2\nb: c\n");
        assert!(node.is_none());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].line >= 1);
    }
}
