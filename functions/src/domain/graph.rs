//! A strategy's decision logic as a graph (`GET /strategies/{id}/graph`): built from a
//! built-in's declared branches or a custom strategy's validated program, written as DOT or
//! laid out and drawn as SVG here (layers by longest path from the start; no Graphviz).

use game_scoring::branches::Branch;
use game_scoring::dsl::ast::{Condition, Expr, Program, Rule, Statement};
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Start,
    Decision,
    Step,
    Outcome,
    Refused,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub label: String,
    pub shape: Shape,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub label: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    pub title: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Graph {
    fn node(&mut self, label: impl Into<String>, shape: Shape) -> usize {
        self.nodes.push(Node {
            label: label.into(),
            shape,
        });
        self.nodes.len() - 1
    }

    fn edge(&mut self, from: usize, to: usize, label: &'static str) {
        self.edges.push(Edge { from, to, label });
    }
}

/// A built-in strategy's graph from its declared branches.
pub fn from_branches(title: &str, branch: &Branch) -> Graph {
    let mut graph = Graph {
        title: title.to_owned(),
        ..Graph::default()
    };
    let start = graph.node(format!("{title}: award requested"), Shape::Start);
    let first = add_branch(&mut graph, branch);
    graph.edge(start, first, "");
    graph
}

fn add_branch(graph: &mut Graph, branch: &Branch) -> usize {
    match branch {
        Branch::Test { condition, yes, no } => {
            let at = graph.node(*condition, Shape::Decision);
            let yes = add_branch(graph, yes);
            graph.edge(at, yes, "yes");
            let no = add_branch(graph, no);
            graph.edge(at, no, "no");
            at
        }
        Branch::Step { label, next } => {
            let at = graph.node(*label, Shape::Step);
            let next = add_branch(graph, next);
            graph.edge(at, next, "");
            at
        }
        Branch::Outcome { points, case_name } => {
            graph.node(format!("{case_name}: {points}"), Shape::Outcome)
        }
        Branch::Refused { reason } => graph.node(format!("422: {reason}"), Shape::Refused),
    }
}

fn expr_text(expr: &Expr) -> String {
    match expr {
        Expr::Literal { value, .. } => serde_json::to_string(value).unwrap_or_default(),
        Expr::Field { path, .. } => String::from(path.clone()),
        Expr::Arith {
            op, left, right, ..
        } => format!("({} {} {})", expr_text(left), op.as_str(), expr_text(right)),
        Expr::FuncCall { name, args, .. } => format!(
            "{}({})",
            name.as_str(),
            args.iter().map(expr_text).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn condition_text(condition: &Condition) -> String {
    match condition {
        Condition::And { args, .. } => args
            .iter()
            .map(condition_text)
            .collect::<Vec<_>>()
            .join(" and "),
        Condition::Or { args, .. } => format!(
            "({})",
            args.iter()
                .map(condition_text)
                .collect::<Vec<_>>()
                .join(" or ")
        ),
        Condition::Not { arg, .. } => format!("not {}", condition_text(arg)),
        Condition::Compare {
            op, left, right, ..
        } => format!("{} {} {}", expr_text(left), op.as_str(), expr_text(right)),
        Condition::Literal { value, .. } => serde_json::to_string(value).unwrap_or_default(),
        Condition::Field { path, .. } => String::from(path.clone()),
    }
}

fn statement_text(statement: &Statement) -> String {
    match statement {
        Statement::AssignPoints {
            value, case_name, ..
        } => format!("assign {} \"{case_name}\"", expr_text(value)),
        Statement::SetCallbackData { key, value, .. } => {
            format!("callbackData.{key} = {}", expr_text(value))
        }
        Statement::Return { .. } => "return".to_owned(),
        Statement::SetData { key, value, .. } => format!("data.{key} = {}", expr_text(value)),
        Statement::Veto { case_name, .. } => format!("veto \"{case_name}\""),
        Statement::SetPoints { value, .. } => format!("points = {}", expr_text(value)),
        Statement::SetCaseName { value, .. } => format!("caseName = {}", expr_text(value)),
    }
}

/// Whether a block ends the program (the first `assign_points`, a veto, a return).
fn ends(statements: &[Statement]) -> bool {
    statements.iter().any(|s| {
        matches!(
            s,
            Statement::AssignPoints { .. } | Statement::Veto { .. } | Statement::Return { .. }
        )
    })
}

/// A statement block: one node listing its statements (with the node ids, as the validator
/// reports errors by id).
fn block(graph: &mut Graph, statements: &[Statement]) -> usize {
    let text = statements
        .iter()
        .map(|s| format!("[{}] {}", s.id(), statement_text(s)))
        .collect::<Vec<_>>()
        .join("; ");
    let shape = if ends(statements) {
        Shape::Outcome
    } else {
        Shape::Step
    };
    graph.node(text, shape)
}

/// Rules in order: each `when` a decision; a block that does not end the program falls
/// through to the next rule (`next`).
fn add_rules(
    graph: &mut Graph,
    rules: &[Rule],
    entry: usize,
    entry_label: &'static str,
) -> Vec<(usize, &'static str)> {
    // Open ends: nodes whose flow continues to whatever comes after these rules.
    let mut open = vec![(entry, entry_label)];
    for rule in rules {
        let at = graph.node(
            format!("[{}] {}", rule.id, condition_text(&rule.when)),
            Shape::Decision,
        );
        for (from, label) in open.drain(..) {
            graph.edge(from, at, label);
        }
        let then = block(graph, &rule.then);
        graph.edge(at, then, "yes");
        if !ends(&rule.then) {
            open.push((then, ""));
        }
        let mut otherwise = (at, "no");
        for branch in rule.else_if.iter().flatten() {
            let id = branch.id.as_deref().unwrap_or("else_if");
            let test = graph.node(
                format!("[{id}] {}", condition_text(&branch.when)),
                Shape::Decision,
            );
            graph.edge(otherwise.0, test, otherwise.1);
            let then = block(graph, &branch.then);
            graph.edge(test, then, "yes");
            if !ends(&branch.then) {
                open.push((then, ""));
            }
            otherwise = (test, "no");
        }
        match &rule.else_ {
            Some(statements) => {
                let then = block(graph, statements);
                graph.edge(otherwise.0, then, otherwise.1);
                if !ends(statements) {
                    open.push((then, ""));
                }
            }
            None => open.push(otherwise),
        }
    }
    open
}

/// A custom strategy's graph from its validated program; `parent` names a DSL_EXTEND's
/// built-in (run between the pre and post rules).
pub fn from_program(title: &str, program: &Program, parent: Option<&str>) -> Graph {
    let mut graph = Graph {
        title: title.to_owned(),
        ..Graph::default()
    };
    let start = graph.node(format!("{title}: award requested"), Shape::Start);
    let mut open = vec![(start, "")];
    if let Some(parent) = parent {
        for rule in program.pre_rules.iter().flatten() {
            let rules = std::slice::from_ref(rule);
            let (entry, label) = join(&mut graph, &mut open);
            open = add_rules(&mut graph, rules, entry, label);
        }
        let at = graph.node(format!("parent strategy {parent}"), Shape::Step);
        for (from, label) in open.drain(..) {
            graph.edge(from, at, label);
        }
        open.push((at, ""));
        for rule in program.post_rules.iter().flatten() {
            let rules = std::slice::from_ref(rule);
            let (entry, label) = join(&mut graph, &mut open);
            open = add_rules(&mut graph, rules, entry, label);
        }
        let end = graph.node("parent's points and case name", Shape::Outcome);
        for (from, label) in open {
            graph.edge(from, end, label);
        }
        return graph;
    }
    for rule in &program.rules {
        let (entry, label) = join(&mut graph, &mut open);
        open = add_rules(&mut graph, std::slice::from_ref(rule), entry, label);
    }
    let end = match &program.default {
        Some(statement) => block(&mut graph, std::slice::from_ref(statement)),
        None => graph.node("no rule matched: 0 points", Shape::Outcome),
    };
    for (from, label) in open {
        graph.edge(from, end, label);
    }
    graph
}

/// Several open ends join into one point before the next rule: a single end goes straight
/// on; several meet at a small "continue" node, so each rule has one entry.
fn join(graph: &mut Graph, open: &mut Vec<(usize, &'static str)>) -> (usize, &'static str) {
    if open.len() == 1 {
        return open.remove(0);
    }
    let at = graph.node("continue", Shape::Step);
    for (from, label) in open.drain(..) {
        graph.edge(from, at, label);
    }
    (at, "")
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz DOT text (for those who render it themselves).
pub fn to_dot(graph: &Graph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", dot_escape(&graph.title));
    out.push_str("  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=11];\n");
    for (i, node) in graph.nodes.iter().enumerate() {
        let shape = match node.shape {
            Shape::Start => "oval",
            Shape::Decision => "diamond",
            Shape::Step => "box",
            Shape::Outcome => "box, style=\"rounded,filled\", fillcolor=\"#e6f4ea\"",
            Shape::Refused => "box, style=\"rounded,filled\", fillcolor=\"#fdecea\"",
        };
        let _ = writeln!(
            out,
            "  n{i} [label=\"{}\", shape={shape}];",
            dot_escape(&node.label)
        );
    }
    for edge in &graph.edges {
        if edge.label.is_empty() {
            let _ = writeln!(out, "  n{} -> n{};", edge.from, edge.to);
        } else {
            let _ = writeln!(
                out,
                "  n{} -> n{} [label=\"{}\"];",
                edge.from, edge.to, edge.label
            );
        }
    }
    out.push_str("}\n");
    out
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

const CHARS_PER_LINE: usize = 34;
const MAX_LINES: usize = 4;
const CHAR_WIDTH: f64 = 6.6;
const LINE_HEIGHT: f64 = 15.0;
const NODE_GAP_X: f64 = 24.0;
const LAYER_GAP_Y: f64 = 56.0;
const MARGIN: f64 = 20.0;

/// Word-wrapped lines of a label, at most [`MAX_LINES`] (the last one cut with `…`).
fn wrap(label: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in label.split_whitespace() {
        let mut word = word.to_owned();
        while word.chars().count() > CHARS_PER_LINE {
            let head: String = word.chars().take(CHARS_PER_LINE).collect();
            let tail: String = word.chars().skip(CHARS_PER_LINE).collect();
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(head);
            word = tail;
        }
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > CHARS_PER_LINE {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > MAX_LINES {
        lines.truncate(MAX_LINES);
        if let Some(last) = lines.last_mut() {
            let kept: String = last.chars().take(CHARS_PER_LINE - 1).collect();
            *last = format!("{kept}…");
        }
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// Layer of each node: the longest path from a node without incoming edges, so every edge
/// points down. The graphs built here are acyclic (rules only flow forward).
fn layers(graph: &Graph) -> Vec<usize> {
    let n = graph.nodes.len();
    let mut layer = vec![0usize; n];
    // Bellman-Ford style relaxation, bounded by n rounds (acyclic: converges sooner).
    for _ in 0..n {
        let mut changed = false;
        for edge in &graph.edges {
            if edge.from < n && edge.to < n && layer[edge.to] < layer[edge.from] + 1 {
                layer[edge.to] = layer[edge.from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    layer
}

struct Placed {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    lines: Vec<String>,
}

/// The graph drawn as a standalone SVG document.
pub fn to_svg(graph: &Graph) -> String {
    let layer_of = layers(graph);
    let depth = layer_of.iter().copied().max().map_or(0, |d| d + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (i, layer) in layer_of.iter().enumerate() {
        rows[*layer].push(i);
    }
    let mut placed: Vec<Placed> = graph
        .nodes
        .iter()
        .map(|node| {
            let lines = wrap(&node.label);
            let longest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            let pad = if node.shape == Shape::Decision {
                40.0
            } else {
                20.0
            };
            Placed {
                x: 0.0,
                y: 0.0,
                w: (longest as f64 * CHAR_WIDTH + pad).max(60.0),
                h: lines.len() as f64 * LINE_HEIGHT + 16.0,
                lines,
            }
        })
        .collect();
    let row_widths: Vec<f64> = rows
        .iter()
        .map(|row| {
            row.iter().map(|&i| placed[i].w).sum::<f64>()
                + NODE_GAP_X * row.len().saturating_sub(1) as f64
        })
        .collect();
    let width = row_widths.iter().copied().fold(0.0, f64::max) + 2.0 * MARGIN;
    let mut y = MARGIN + 28.0;
    for (row, row_width) in rows.iter().zip(&row_widths) {
        let height = row.iter().map(|&i| placed[i].h).fold(0.0, f64::max);
        let mut x = (width - row_width) / 2.0;
        for &i in row {
            placed[i].x = x;
            placed[i].y = y + (height - placed[i].h) / 2.0;
            x += placed[i].w + NODE_GAP_X;
        }
        y += height + LAYER_GAP_Y;
    }
    let height = y - LAYER_GAP_Y + MARGIN;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" role="img" aria-labelledby="graph-title" font-family="Helvetica, Arial, sans-serif" font-size="11"><title id="graph-title">{t}</title><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs><rect width="100%" height="100%" fill="#ffffff"/><text x="{m}" y="{ty}" font-size="14" font-weight="bold" fill="#111">{t}</text>"##,
        w = width,
        h = height,
        t = xml_escape(&graph.title),
        m = MARGIN,
        ty = MARGIN + 6.0,
    );
    for edge in &graph.edges {
        let (Some(a), Some(b)) = (placed.get(edge.from), placed.get(edge.to)) else {
            continue;
        };
        // A diamond's points stick out 6 px beyond its box.
        let tip = |shape: Shape| if shape == Shape::Decision { 6.0 } else { 0.0 };
        let (x1, y1) = (
            a.x + a.w / 2.0,
            a.y + a.h + tip(graph.nodes[edge.from].shape),
        );
        let (x2, y2) = (b.x + b.w / 2.0, b.y - tip(graph.nodes[edge.to].shape));
        let _ = write!(
            svg,
            r##"<path d="M{x1:.1},{y1:.1} C{x1:.1},{c1:.1} {x2:.1},{c2:.1} {x2:.1},{y2:.1}" fill="none" stroke="#444" stroke-width="1.2" marker-end="url(#arrow)"/>"##,
            c1 = y1 + 24.0,
            c2 = y2 - 24.0,
        );
        if !edge.label.is_empty() {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" fill="#1a5fb4" text-anchor="middle">{}</text>"##,
                x1 + (x2 - x1) * 0.3 + if x2 < x1 { -10.0 } else { 10.0 },
                y1 + 14.0,
                xml_escape(edge.label)
            );
        }
    }
    for (node, p) in graph.nodes.iter().zip(&placed) {
        let (fill, stroke) = match node.shape {
            Shape::Start => ("#eef2ff", "#3949ab"),
            Shape::Decision => ("#fff8e1", "#b26a00"),
            Shape::Step => ("#f5f5f5", "#616161"),
            Shape::Outcome => ("#e6f4ea", "#1e7e34"),
            Shape::Refused => ("#fdecea", "#b71c1c"),
        };
        match node.shape {
            Shape::Decision => {
                let (cx, cy) = (p.x + p.w / 2.0, p.y + p.h / 2.0);
                let _ = write!(
                    svg,
                    r#"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{fill}" stroke="{stroke}"/>"#,
                    cx,
                    p.y - 6.0,
                    p.x + p.w,
                    cy,
                    cx,
                    p.y + p.h + 6.0,
                    p.x,
                    cy
                );
            }
            _ => {
                let radius = if node.shape == Shape::Start {
                    p.h / 2.0
                } else {
                    6.0
                };
                let _ = write!(
                    svg,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="{radius:.1}" fill="{fill}" stroke="{stroke}"/>"#,
                    p.x, p.y, p.w, p.h
                );
            }
        }
        let first_y = p.y + 8.0 + LINE_HEIGHT * 0.8;
        for (k, line) in p.lines.iter().enumerate() {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#111">{}</text>"##,
                p.x + p.w / 2.0,
                first_y + k as f64 * LINE_HEIGHT,
                xml_escape(line)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use game_scoring::StrategyKind;
    use game_scoring::branches::branches;
    use game_scoring::dsl::{CustomStrategy, DslKind};
    use serde_json::json;

    #[test]
    fn every_builtin_draws_each_case_once_and_the_edges_point_down() {
        for kind in StrategyKind::ALL {
            let graph = from_branches(kind.id(), &branches(kind));
            for case in kind.case_names() {
                assert!(
                    graph.nodes.iter().any(|n| n.label.starts_with(case)),
                    "{} lacks {case}",
                    kind.id()
                );
            }
            let layer = layers(&graph);
            assert!(graph.edges.iter().all(|e| layer[e.to] > layer[e.from]));
            let svg = to_svg(&graph);
            assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
            let dot = to_dot(&graph);
            assert_eq!(dot.matches(" -> ").count(), graph.edges.len());
        }
    }

    #[test]
    fn a_program_draws_its_rules_with_their_node_ids() {
        let ast = json!({"type": "program", "id": "p", "rules": [
            {"type": "rule", "id": "r1",
             "when": {"type": "compare", "id": "c1", "op": ">", "left": {"type": "field", "id": "f1", "path": "data.minutes"}, "right": {"type": "literal", "id": "l1", "value": 30}},
             "then": [{"type": "assign_points", "id": "a1", "value": {"type": "literal", "id": "l2", "value": 5}, "case_name": "Long <walk> & \"more\""}],
             "else_if": [{"when": {"type": "literal", "id": "l3", "value": true}, "then": [{"type": "set_callback_data", "id": "s1", "key": "k", "value": {"type": "literal", "id": "l4", "value": 1}}]}]}],
            "default": {"type": "assign_points", "id": "d1", "value": {"type": "literal", "id": "l5", "value": 1}, "case_name": "Default"}});
        let strategy = CustomStrategy::new(&ast, DslKind::Full).unwrap();
        let graph = from_program("walks", strategy.program(), None);
        let labels: Vec<&str> = graph.nodes.iter().map(|n| n.label.as_str()).collect();
        assert!(
            labels
                .iter()
                .any(|l| l.starts_with("[r1] data.minutes > 30")),
            "{labels:?}"
        );
        assert!(
            labels.iter().any(|l| l.contains("[a1] assign 5")),
            "{labels:?}"
        );
        assert!(
            labels
                .iter()
                .any(|l| l.contains("[d1] assign 1 \"Default\""))
        );
        // The else_if's block does not end the program: it flows on to the default.
        let set_data = labels.iter().position(|l| l.contains("[s1]")).unwrap();
        let default = labels.iter().position(|l| l.contains("[d1]")).unwrap();
        assert!(
            graph
                .edges
                .iter()
                .any(|e| e.from == set_data && e.to == default)
        );
        let svg = to_svg(&graph);
        assert!(
            svg.contains("&lt;walk&gt;") && svg.contains("&amp;"),
            "escaped: {svg}"
        );
        assert!(!svg.contains("<walk>"));
    }

    /// docs/graphs/default.svg is this rendering (the example docs/api.md shows); run with
    /// GAME_UPDATE_GOLDEN=1 to rewrite it after a deliberate layout change.
    #[test]
    fn the_default_strategy_renders_as_its_golden_file() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/graphs/default.svg");
        let svg = to_svg(&from_branches("default", &branches(StrategyKind::Default)));
        if std::env::var_os("GAME_UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &svg).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            golden == svg,
            "docs/graphs/default.svg is stale: GAME_UPDATE_GOLDEN=1 cargo test"
        );
    }

    #[test]
    fn long_labels_wrap_and_are_cut() {
        let lines = wrap(&"word ".repeat(100));
        assert_eq!(lines.len(), MAX_LINES);
        assert!(lines.iter().all(|l| l.chars().count() <= CHARS_PER_LINE));
        assert!(lines.last().unwrap().ends_with('…'));
    }
}
