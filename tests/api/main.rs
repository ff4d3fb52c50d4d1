//! Black-box tests: one binary, a real server per test on a random port.

mod access;
mod auth;
mod automation;
mod capture;
mod channels;
mod crash;
mod customers;
mod deals;
mod demo;
mod events;
mod input;
mod lambda;
mod leads;
mod matrix;
mod openapi;
mod orders;
mod restart;
mod slow;
mod stores;
mod visits;
