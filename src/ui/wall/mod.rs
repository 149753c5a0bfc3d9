//! The monitoring wall: many cameras live at once. Named walls ([`walls`]) hold the cameras in tile order and a
//! [`layout`]; each camera is a [`tile`] over its own engine player at the live edge. One [`StoreWatch`] asks the
//! store about every tile's stream off the main thread; the tiles run only while the wall is shown.

pub mod layout;
mod tile;
pub mod walls;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gettextrs::gettext;
use hindsight_store::{Backend, StreamName, Timestamp};
use relm4::adw::prelude::*;
use relm4::{adw, gtk, Component, ComponentController, ComponentParts, ComponentSender, Controller};

use crate::engine::store_watch::StoreWatch;
use crate::ui::status_report;
use layout::Layout;
use tile::{TileInit, TileMsg, TileOutput, TileView};
use walls::Walls;

/// Tiles refresh their state this often.
const TICK: Duration = Duration::from_millis(250);
/// The store is asked about the tiles' streams this often.
const WATCH_PERIOD: Duration = Duration::from_secs(1);

/// What the wall starts with.
pub struct WallInit {
    /// The store the cameras are in.
    pub store: Arc<dyn Backend>,
    /// Where the walls are kept.
    pub path: PathBuf,
    /// Streams (and a layout) to show on a wall of their own (`hindsight wall a/b c/d`).
    pub show: Option<(Vec<StreamName>, Option<Layout>)>,
}

/// Input of the wall.
#[derive(Debug)]
pub enum WallMsg {
    /// The wall became visible (tiles start) or hidden (tiles stop).
    Visible(bool),
    /// Put a camera on the current wall, or take it off.
    Toggle(StreamName),
    /// Show another wall.
    SelectWall(usize),
    /// A new empty wall.
    NewWall,
    /// Delete the current wall.
    DeleteWall,
    /// Arrange the tiles.
    SetLayout(Layout),
    /// A tile asked for something.
    Tile(TileOutput),
    /// Back from an enlarged tile.
    Back,
    /// Refresh the tiles.
    Tick,
}

/// What the wall tells the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WallOutput {
    /// Open this camera in the player, at this time if known.
    Open(StreamName, Option<Timestamp>),
    /// A transient message.
    Toast(String),
    /// The cameras on the current wall changed (the library marks them).
    Cameras(Vec<String>),
}

/// The wall's state.
pub struct Wall {
    store: Arc<dyn Backend>,
    path: PathBuf,
    walls: Walls,
    visible: bool,
    tiles: Vec<Controller<TileView>>,
    enlarged: Option<usize>,
    watch: Option<StoreWatch>,
}

/// The widgets the wall updates.
pub struct WallWidgets {
    stack: gtk::Stack,
    grid: gtk::Grid,
    wall_choice: gtk::DropDown,
    layout_choice: gtk::DropDown,
    /// Empty cells of a fixed layout that has fewer cameras than cells, so tiles keep the layout's size.
    placeholders: Vec<gtk::Box>,
    /// The menus' handlers, blocked while the model sets them (that is not the user choosing).
    wall_handler: gtk::glib::SignalHandlerId,
    layout_handler: gtk::glib::SignalHandlerId,
}

impl Component for Wall {
    type Init = WallInit;
    type Input = WallMsg;
    type Output = WallOutput;
    type CommandOutput = ();
    type Root = gtk::Box;
    type Widgets = WallWidgets;

    fn init_root() -> gtk::Box {
        gtk::Box::new(gtk::Orientation::Vertical, 0)
    }

    fn init(init: WallInit, root: gtk::Box, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        let (mut walls, problem) = walls::load(&init.path);
        if let Some(problem) = problem {
            tracing::warn!(%problem, "walls file replaced");
            let _ = sender.output(WallOutput::Toast(problem));
        }
        if let Some((streams, layout)) = init.show {
            let names: Vec<String> = streams.iter().map(ToString::to_string).collect();
            walls.show(names, &gettext("Wall"));
            if let Some(layout) = layout {
                walls.current_mut().layout = layout;
            }
            if let Err(e) = walls::save(&init.path, &walls) {
                let _ = sender.output(WallOutput::Toast(format!("{e:#}")));
            }
        }
        let widgets = build(&root, &sender);
        let model = Wall {
            store: init.store,
            path: init.path,
            walls,
            visible: false,
            tiles: Vec::new(),
            enlarged: None,
            watch: None,
        };
        model.show_choices(&widgets);
        let input = sender.input_sender().clone();
        gtk::glib::timeout_add_local(TICK, move || {
            if input.send(WallMsg::Tick).is_ok() {
                gtk::glib::ControlFlow::Continue
            } else {
                gtk::glib::ControlFlow::Break
            }
        });
        let _ = sender.output(WallOutput::Cameras(model.walls.current().streams.clone()));
        ComponentParts { model, widgets }
    }

    fn update_with_view(
        &mut self,
        w: &mut WallWidgets,
        msg: WallMsg,
        sender: ComponentSender<Self>,
        _root: &gtk::Box,
    ) {
        match msg {
            WallMsg::Visible(visible) => {
                self.visible = visible;
                self.rebuild(w, &sender);
            }
            WallMsg::Toggle(stream) => {
                let name = stream.to_string();
                let cams = &mut self.walls.current_mut().streams;
                if let Some(i) = cams.iter().position(|s| *s == name) {
                    cams.remove(i);
                } else {
                    cams.push(name);
                }
                self.changed(w, &sender);
            }
            WallMsg::SelectWall(i) if i != self.walls.current && i < self.walls.walls.len() => {
                self.walls.current = i;
                self.changed(w, &sender);
            }
            WallMsg::SelectWall(_) => {}
            WallMsg::NewWall => {
                self.walls.add(&gettext("Wall"));
                self.changed(w, &sender);
            }
            WallMsg::DeleteWall => {
                self.walls.remove_current();
                self.changed(w, &sender);
            }
            WallMsg::SetLayout(layout) if layout != self.walls.current().layout => {
                self.walls.current_mut().layout = layout;
                self.changed(w, &sender);
            }
            WallMsg::SetLayout(_) => {}
            WallMsg::Tile(TileOutput::Clicked(i)) => {
                self.enlarged = if self.enlarged == Some(i) { None } else { Some(i) };
                self.arrange(w);
            }
            WallMsg::Tile(TileOutput::Open(stream, at)) => {
                let _ = sender.output(WallOutput::Open(stream, at));
            }
            WallMsg::Tile(TileOutput::Move { stream, to }) => {
                let cams = &mut self.walls.current_mut().streams;
                if let Some(from) = cams.iter().position(|s| *s == stream) {
                    if layout::reorder(cams, from, to) {
                        self.changed(w, &sender);
                    }
                }
            }
            WallMsg::Back => {
                if self.enlarged.take().is_some() {
                    self.arrange(w);
                }
            }
            WallMsg::Tick => self.tick(),
        }
    }
}

impl Wall {
    /// The cameras on the current wall and its layout changed: save, and show it.
    fn changed(&mut self, w: &mut WallWidgets, sender: &ComponentSender<Self>) {
        if let Err(e) = walls::save(&self.path, &self.walls) {
            let _ = sender.output(WallOutput::Toast(format!("{e:#}")));
        }
        self.show_choices(w);
        self.rebuild(w, sender);
        let _ = sender.output(WallOutput::Cameras(self.walls.current().streams.clone()));
    }

    /// The wall switcher and layout menu, as the model says.
    fn show_choices(&self, w: &WallWidgets) {
        let names: Vec<&str> = self.walls.walls.iter().map(|w| w.name.as_str()).collect();
        w.wall_choice.block_signal(&w.wall_handler);
        w.wall_choice.set_model(Some(&gtk::StringList::new(&names)));
        w.wall_choice.set_selected(self.walls.current as u32);
        w.wall_choice.unblock_signal(&w.wall_handler);
        let layout = self.walls.current().layout;
        let index = Layout::ALL.iter().position(|l| *l == layout).unwrap_or(0);
        w.layout_choice.block_signal(&w.layout_handler);
        w.layout_choice.set_selected(index as u32);
        w.layout_choice.unblock_signal(&w.layout_handler);
    }

    /// Starts the tiles of the current wall (or stops them all while the wall is hidden).
    fn rebuild(&mut self, w: &mut WallWidgets, sender: &ComponentSender<Self>) {
        for tile in self.tiles.drain(..) {
            w.grid.remove(tile.widget());
        }
        self.enlarged = None;
        if !self.visible {
            self.watch = None;
            w.stack.set_visible_child_name("grid");
            return;
        }
        let wall = self.walls.current().clone();
        let names: Vec<StreamName> = wall
            .streams
            .iter()
            .filter_map(|s| match StreamName::parse(s) {
                Ok(n) => Some(n),
                Err(e) => {
                    tracing::warn!(stream = %s, error = %e, "skipping a bad stream name on the wall");
                    None
                }
            })
            .take(wall.layout.visible(wall.streams.len()))
            .collect();
        if self.watch.is_none() {
            self.watch = StoreWatch::start(self.store.clone(), WATCH_PERIOD)
                .map_err(|e| tracing::warn!(error = %e, "cannot watch the store"))
                .ok();
        }
        if let Some(watch) = &self.watch {
            watch.watch(&names);
        }
        for (index, stream) in names.into_iter().enumerate() {
            let tile = TileView::builder()
                .launch(TileInit {
                    index,
                    store: self.store.clone(),
                    stream,
                })
                .forward(sender.input_sender(), WallMsg::Tile);
            self.tiles.push(tile);
        }
        self.arrange(w);
    }

    /// Places the tiles in the grid (only the enlarged one while a tile is enlarged).
    fn arrange(&self, w: &mut WallWidgets) {
        let wall = self.walls.current();
        for tile in &self.tiles {
            if tile.widget().parent().is_some() {
                w.grid.remove(tile.widget());
            }
        }
        for cell in w.placeholders.drain(..) {
            w.grid.remove(&cell);
        }
        match self.enlarged.and_then(|i| self.tiles.get(i)) {
            Some(tile) => w.grid.attach(tile.widget(), 0, 0, 1, 1),
            None => {
                let n = self.tiles.len();
                for (i, tile) in self.tiles.iter().enumerate() {
                    let (col, row) = wall.layout.cell(n, i);
                    w.grid.attach(tile.widget(), col as i32, row as i32, 1, 1);
                }
                let (cols, rows) = wall.layout.grid(n);
                for i in n..cols * rows {
                    let cell = gtk::Box::new(gtk::Orientation::Vertical, 0);
                    cell.add_css_class("wall-empty-cell");
                    cell.set_hexpand(true);
                    cell.set_vexpand(true);
                    let (col, row) = wall.layout.cell(n, i);
                    w.grid.attach(&cell, col as i32, row as i32, 1, 1);
                    w.placeholders.push(cell);
                }
            }
        }
        w.stack
            .set_visible_child_name(if self.tiles.is_empty() { "empty" } else { "grid" });
    }

    fn tick(&self) {
        if !self.visible {
            return;
        }
        let Some(watch) = &self.watch else { return };
        for (i, tile) in self.tiles.iter().enumerate() {
            let stream = tile.model().status().stream.clone();
            let facts = StreamName::parse(&stream)
                .map(|n| watch.facts(&n))
                .unwrap_or_default();
            tile.emit(TileMsg::Tick {
                store: facts,
                enlarged: self.enlarged == Some(i),
            });
        }
        self.report();
    }

    /// The status report: every tile's stream, state, frame time and where it is in the window.
    fn report(&self) {
        let tiles: Vec<status_report::TileReport> = self
            .tiles
            .iter()
            .map(|tile| {
                let s = tile.model().status().clone();
                let widget = tile.widget();
                let rect = status_report::rect_of(widget);
                status_report::TileReport {
                    stream: s.stream,
                    state: s.state.word().to_owned(),
                    detail: match &s.state {
                        crate::engine::tile::TileState::Error(e) => Some(e.clone()),
                        _ => None,
                    },
                    position_ns: s.position.map_or(0, Timestamp::nanos),
                    frames: s.frames,
                    key_frames_only: s.key_frames_only,
                    rect,
                }
            })
            .collect();
        let wall = self.walls.current();
        status_report::write_wall(&status_report::WallReport {
            wall: wall.name.clone(),
            layout: wall.layout.name().to_owned(),
            enlarged: self.enlarged,
            tiles,
        });
    }
}

/// The toolbar (wall switcher, new and delete, layout) and the grid of tiles, with a page for an empty wall.
fn build(root: &gtk::Box, sender: &ComponentSender<Wall>) -> WallWidgets {
    let wall_choice = gtk::DropDown::from_strings(&[]);
    wall_choice.set_tooltip_text(Some(&gettext("Wall")));
    let s = sender.clone();
    let wall_handler =
        wall_choice.connect_selected_notify(move |d| s.input(WallMsg::SelectWall(d.selected() as usize)));
    let new_wall = gtk::Button::from_icon_name("list-add-symbolic");
    new_wall.set_tooltip_text(Some(&gettext("New wall")));
    new_wall.add_css_class("flat");
    let s = sender.clone();
    new_wall.connect_clicked(move |_| s.input(WallMsg::NewWall));
    let delete_wall = gtk::Button::from_icon_name("user-trash-symbolic");
    delete_wall.set_tooltip_text(Some(&gettext("Delete this wall")));
    delete_wall.add_css_class("flat");
    let s = sender.clone();
    delete_wall.connect_clicked(move |_| s.input(WallMsg::DeleteWall));
    let layout_names: Vec<String> = Layout::ALL
        .iter()
        .map(|l| match l {
            Layout::Auto => gettext("Automatic"),
            other => other.name().replace('x', "×"),
        })
        .collect();
    let refs: Vec<&str> = layout_names.iter().map(String::as_str).collect();
    let layout_choice = gtk::DropDown::from_strings(&refs);
    layout_choice.set_tooltip_text(Some(&gettext("Layout")));
    let s = sender.clone();
    let layout_handler = layout_choice.connect_selected_notify(move |d| {
        if let Some(l) = Layout::ALL.get(d.selected() as usize) {
            s.input(WallMsg::SetLayout(*l));
        }
    });
    let hint = gtk::Label::new(Some(&gettext(
        "Click a camera to enlarge it, double-click to open it in the player, drag to reorder",
    )));
    hint.add_css_class("dim-label");
    hint.set_hexpand(true);
    hint.set_xalign(1.0);
    hint.set_ellipsize(gtk::pango::EllipsizeMode::End);
    let toolbar = gtk::Box::new(gtk::Orientation::Horizontal, 6);
    toolbar.set_margin_start(8);
    toolbar.set_margin_end(8);
    toolbar.set_margin_top(6);
    toolbar.set_margin_bottom(6);
    toolbar.append(&wall_choice);
    toolbar.append(&new_wall);
    toolbar.append(&delete_wall);
    toolbar.append(&layout_choice);
    toolbar.append(&hint);

    let grid = gtk::Grid::builder()
        .row_homogeneous(true)
        .column_homogeneous(true)
        .row_spacing(2)
        .column_spacing(2)
        .hexpand(true)
        .vexpand(true)
        .build();
    grid.add_css_class("wall");
    let empty = adw::StatusPage::builder()
        .icon_name("view-grid-symbolic")
        .title(gettext("No Cameras on This Wall"))
        .description(gettext(
            "Put cameras on the wall with the wall button of their row in the library.",
        ))
        .build();
    let stack = gtk::Stack::new();
    stack.add_named(&grid, Some("grid"));
    stack.add_named(&empty, Some("empty"));
    stack.set_vexpand(true);
    root.append(&toolbar);
    root.append(&stack);
    WallWidgets {
        stack,
        grid,
        wall_choice,
        layout_choice,
        placeholders: Vec::new(),
        wall_handler,
        layout_handler,
    }
}
