//! The miner's workers, their jobs and the sealing scheduler.

use std::collections::{BTreeMap, HashMap};

use crate::routes::ServiceConfig;
use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::storage::{no_store, page_response, uuid_param, window};
use super::{remap, sector_number, MinerSectorId};
use crate::auth::{Admin, Caller, MinerAuthorized};
use crate::error::{ApiError, Code};
use crate::routes::body::Body;
use crate::routes::extract::{JobPath, SchedRequestPath, WorkerPath};
use crate::routes::messages::field_error;
use crate::routes::page::Page;
use crate::routes::{accepted, accepted_empty, lotus_json_uncached, no_content};
use crate::state::AppState;

// ---------------------------------------------------------------------------------------------------------------
// Schemas

/// A worker's hardware.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerWorkerResources {
    #[schema(example = 274877906944u64)]
    pub mem_physical: u64,
    #[schema(example = 2147483648u64)]
    pub mem_used: u64,
    pub mem_swap: u64,
    pub mem_swap_used: u64,
    #[serde(rename = "CPUs")]
    #[schema(example = 64)]
    pub cpus: u64,
    #[serde(rename = "GPUs")]
    #[schema(example = json!(["NVIDIA RTX 3090"]))]
    pub gpus: Option<Vec<String>>,
    /// The resources each task type needs on it, by task type and seal proof type.
    pub resources: HashMap<String, Value>,
}

/// What a worker is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerWorkerInfo {
    #[schema(example = "worker-1")]
    pub hostname: String,
    /// Whether the scheduler ignores its resources and gives it any task it accepts.
    pub ignore_resources: bool,
    pub resources: MinerWorkerResources,
}

/// A worker connected to the miner and what it is doing (`storiface.WorkerStats`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerWorker {
    /// The worker's session ID.
    #[serde(rename = "ID")]
    #[schema(example = "ef8d99a2-6865-4189-8ffa-9fef0f806eee")]
    pub id: String,
    pub info: MinerWorkerInfo,
    /// The task types it accepts.
    #[schema(example = json!(["seal/v0/precommit/1", "seal/v0/precommit/2"]))]
    pub tasks: Option<Vec<String>>,
    /// Whether it takes new tasks.
    pub enabled: bool,
    pub mem_used_min: u64,
    pub mem_used_max: u64,
    /// The GPUs in use (fractions add up).
    pub gpu_used: f64,
    /// The CPU threads in use.
    pub cpu_use: u64,
    /// How many tasks of each type it runs.
    pub task_counts: Option<HashMap<String, i64>>,
}

/// A page of workers.
#[derive(Debug, Serialize, ToSchema)]
pub struct MinerWorkerPage {
    pub items: Vec<MinerWorker>,
    /// The cursor of the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// How many workers there are.
    pub total: usize,
}

/// A task's call ID: the sector and a UUID.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerCallId {
    pub sector: MinerSectorId,
    #[serde(rename = "ID")]
    #[schema(example = "76081ba0-61bd-45a5-bc08-af05f1c26e5d")]
    pub id: String,
}

/// A task on a worker (`storiface.WorkerJob`), with the worker it is on.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerJob {
    /// The worker's ID.
    #[schema(example = "ef8d99a2-6865-4189-8ffa-9fef0f806eee")]
    pub worker: String,
    #[serde(rename = "ID")]
    pub id: MinerCallId,
    pub sector: MinerSectorId,
    #[schema(example = "seal/v0/precommit/2")]
    pub task: String,
    /// 0 running; 1 and up: assigned, waiting to run (its place in the queue); -1 done, its result not yet taken;
    /// -2 result returned; -3 result taken.
    #[schema(example = 0)]
    pub run_wait: i64,
    /// When it started.
    #[schema(example = "2026-01-01T00:00:00Z")]
    pub start: String,
    #[schema(example = "worker-1")]
    pub hostname: String,
}

/// A page of jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct MinerJobPage {
    pub items: Vec<MinerJob>,
    /// The cursor of the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// How many jobs the filter selects.
    pub total: usize,
}

/// A worker to connect to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Url": "http://10.0.0.7:3456/rpc/v0"}))]
pub struct MinerConnectWorker {
    /// The worker's JSON-RPC URL.
    pub url: String,
}

/// A connection being made.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerWorkerConnection {
    #[schema(example = "http://10.0.0.7:3456/rpc/v0")]
    pub url: String,
}

/// A task waiting for a worker.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSchedulerRequest {
    pub sector: MinerSectorId,
    #[schema(example = "seal/v0/commit/1")]
    pub task_type: String,
    pub priority: i64,
    /// The request's ID, to remove it with `DELETE /v1/miner/scheduler/requests/{id}`.
    #[schema(example = "07070707-0707-0707-0707-070707070707")]
    pub sched_id: String,
}

/// The scheduler's queue and open windows.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSchedulerInfo {
    pub requests: Option<Vec<MinerSchedulerRequest>>,
    /// The workers with a window open for work.
    pub open_windows: Option<Vec<String>>,
}

/// The sealing scheduler's state, as Lotus dumps it for diagnosis (`SealingSchedDiag`); its shape may change
/// between Lotus releases.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSchedulerDiag {
    pub sched_info: MinerSchedulerInfo,
    /// Work whose results came back.
    pub returned_work: Option<Vec<String>>,
    /// Calls waiting for their results.
    pub waiting: Option<Vec<String>>,
    /// Which work each call is.
    pub call_to_work: Option<HashMap<String, String>>,
    /// Results that came back before their calls were recorded.
    pub early_ret: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------------------------------
// Workers

async fn worker_stats(
    state: &AppState,
    caller: &Caller,
) -> Result<BTreeMap<String, Map<String, Value>>, ApiError> {
    let stats: Option<BTreeMap<String, Map<String, Value>>> = state
        .miner
        .call(caller, "Filecoin.WorkerStats", json!([]))
        .await?;
    Ok(stats.unwrap_or_default())
}

fn with_id(id: &str, stats: Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert("ID".into(), json!(id));
    out.extend(stats);
    Value::Object(out)
}

/// The workers.
///
/// The workers connected to the miner, with their hardware, the task types they take and what they use now
/// (`Filecoin.WorkerStats`), by ID, paged.
#[utoipa::path(
    tag = "Miner workers",
    extensions(("x-lotus-methods" = json!(["Filecoin.WorkerStats"]))),
    params(Page),
    responses((status = 200, description = "A page of workers", body = MinerWorkerPage)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/workers")]
pub async fn list_miner_workers(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    page.limit()?;
    let mut stats = worker_stats(&state, &auth.caller).await?;
    let keys: Vec<String> = stats.keys().cloned().collect();
    let w = window(&keys, &page, "Filecoin.WorkerStats", &json!([]))?;
    let items = keys[w.start..w.end]
        .iter()
        .map(|id| with_id(id, stats.remove(id).unwrap_or_default()))
        .collect();
    Ok(page_response(items, w, keys.len()))
}

/// A worker.
///
/// A worker connected to the miner (`Filecoin.WorkerStats`). 404 when no worker has this ID.
#[utoipa::path(
    tag = "Miner workers",
    extensions(("x-lotus-methods" = json!(["Filecoin.WorkerStats"]))),
    params(WorkerPath),
    responses((status = 200, description = "The worker", body = MinerWorker),
        (status = 404, description = "No such worker", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/workers/{id}")]
pub async fn get_miner_worker(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    WorkerPath { id }: WorkerPath,
) -> Result<HttpResponse, ApiError> {
    let mut stats = worker_stats(&state, &auth.caller).await?;
    let worker = stats.remove(&id).ok_or_else(|| {
        ApiError::new(
            Code::NotFound,
            format!("no worker {id} is connected to the miner"),
        )
    })?;
    Ok(no_store(&with_id(&id, worker)))
}

/// Connect a worker.
///
/// Has the miner connect to a worker's JSON-RPC endpoint and add it to the scheduler (`Filecoin.WorkerConnect`), as
/// `lotus-worker` asks at start. Answers 202; the worker appears in the workers list once connected.
#[utoipa::path(
    tag = "Miner workers",
    extensions(("x-lotus-methods" = json!(["Filecoin.WorkerConnect"]))),
    request_body = MinerConnectWorker,
    responses((status = 202, description = "The miner is connecting", body = MinerWorkerConnection,
        headers(("Location" = String, description = "The workers: /v1/miner/workers")))),
    security(("lotus_token" = ["admin"]))
)]
#[post("/workers")]
pub async fn connect_miner_worker(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    body: Body<MinerConnectWorker>,
) -> Result<HttpResponse, ApiError> {
    let url = body.url.trim();
    let ok = url::Url::parse(url).is_ok_and(|u| {
        ["http", "https", "ws", "wss"].contains(&u.scheme()) && u.host_str().is_some()
    });
    if !ok {
        return Err(field_error(
            "Url",
            format!("\"{url}\" is not an http(s) or ws(s) URL such as http://10.0.0.7:3456/rpc/v0"),
        ));
    }
    state
        .miner
        .call_raw(&auth.caller, "Filecoin.WorkerConnect", json!([url]))
        .await?;
    Ok(accepted(
        Some("/v1/miner/workers"),
        &MinerWorkerConnection {
            url: url.to_owned(),
        },
    ))
}

// ---------------------------------------------------------------------------------------------------------------
// Jobs

/// `WorkerJobs`: each worker's jobs.
type JobsByWorker = BTreeMap<String, Option<Vec<Map<String, Value>>>>;

/// Every job, flattened: (sort key, job with its worker).
async fn all_jobs(state: &AppState, caller: &Caller) -> Result<Vec<(String, Value)>, ApiError> {
    let jobs: Option<JobsByWorker> = state
        .miner
        .call(caller, "Filecoin.WorkerJobs", json!([]))
        .await?;
    let mut out = Vec::new();
    for (worker, list) in jobs.unwrap_or_default() {
        for job in list.unwrap_or_default() {
            let call = job
                .get("ID")
                .and_then(|c| c.get("ID"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let mut entry = Map::new();
            entry.insert("Worker".into(), json!(worker));
            entry.extend(job);
            out.push((format!("{worker}/{call}"), Value::Object(entry)));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Which jobs to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// Only the jobs of this worker.
    #[param(value_type = Option<String>, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        example = "ef8d99a2-6865-4189-8ffa-9fef0f806eee")]
    pub worker: Option<String>,
    /// Only the jobs on this sector.
    #[param(value_type = Option<u64>, minimum = 0, example = 9)]
    pub sector: Option<String>,
}

/// The jobs.
///
/// The tasks the workers run or have queued (`Filecoin.WorkerJobs`), one list across workers, each with its
/// worker's ID; by worker and call ID, paged, optionally only one worker's or one sector's.
#[utoipa::path(
    tag = "Miner workers",
    extensions(("x-lotus-methods" = json!(["Filecoin.WorkerJobs"]))),
    params(JobFilter, Page),
    responses((status = 200, description = "A page of jobs", body = MinerJobPage)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/jobs")]
pub async fn list_miner_jobs(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    filter: web::Query<JobFilter>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let worker = match &filter.worker {
        Some(w) => Some(uuid_param("worker", w)?),
        None => None,
    };
    let sector = match &filter.sector {
        Some(s) => Some(sector_number("sector", s)?),
        None => None,
    };
    page.limit()?;
    let jobs: Vec<(String, Value)> = all_jobs(&state, &auth.caller)
        .await?
        .into_iter()
        .filter(|(_, j)| worker.as_ref().is_none_or(|w| j["Worker"] == json!(w)))
        .filter(|(_, j)| sector.is_none_or(|n| j["Sector"]["Number"] == json!(n)))
        .collect();
    let keys: Vec<String> = jobs.iter().map(|(k, _)| k.clone()).collect();
    let w = window(
        &keys,
        &page,
        "Filecoin.WorkerJobs",
        &json!([worker, sector]),
    )?;
    let items = jobs[w.start..w.end]
        .iter()
        .map(|(_, j)| j.clone())
        .collect();
    Ok(page_response(items, w, keys.len()))
}

async fn find_job(state: &AppState, caller: &Caller, id: &str) -> Result<Value, ApiError> {
    all_jobs(state, caller)
        .await?
        .into_iter()
        .map(|(_, j)| j)
        .find(|j| j["ID"]["ID"] == json!(id))
        .ok_or_else(|| {
            ApiError::new(
                Code::NotFound,
                format!("no job with call ID {id} on the miner's workers"),
            )
        })
}

/// A job.
///
/// A task a worker runs or has queued, by its call ID (`Filecoin.WorkerJobs`). 404 when no worker has it.
#[utoipa::path(
    tag = "Miner workers",
    extensions(("x-lotus-methods" = json!(["Filecoin.WorkerJobs"]))),
    params(JobPath),
    responses((status = 200, description = "The job", body = MinerJob),
        (status = 404, description = "No such job", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[get("")]
pub async fn get_miner_job(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    JobPath { id }: JobPath,
) -> Result<HttpResponse, ApiError> {
    Ok(no_store(&find_job(&state, &auth.caller, &id).await?))
}

/// Abort a job.
///
/// Aborts a task by its call ID (`Filecoin.SealingAbort`; the call is found with `Filecoin.WorkerJobs`): the task
/// ends with an error and the sector's sealing handles it as a failure. Answers 202; the job leaves the list once
/// the abort is processed. 404 when no worker has the job.
#[utoipa::path(
    tag = "Miner workers",
    extensions(("x-lotus-methods" = json!(["Filecoin.SealingAbort", "Filecoin.WorkerJobs"]))),
    params(JobPath),
    responses((status = 202, description = "The abort is under way"),
        (status = 404, description = "No such job", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[delete("")]
pub async fn delete_miner_job(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    JobPath { id }: JobPath,
) -> Result<HttpResponse, ApiError> {
    let job = find_job(&state, &auth.caller, &id).await?;
    state
        .miner
        .call_raw(&auth.caller, "Filecoin.SealingAbort", json!([job["ID"]]))
        .await?;
    Ok(accepted_empty())
}

// ---------------------------------------------------------------------------------------------------------------
// The scheduler

/// The sealing scheduler.
///
/// The scheduler's queue of tasks waiting for a worker, the workers with open windows, and the calls awaiting
/// results (`Filecoin.SealingSchedDiag`), for diagnosis.
#[utoipa::path(
    tag = "Miner workers",
    extensions(("x-lotus-methods" = json!(["Filecoin.SealingSchedDiag"]))),
    responses((status = 200, description = "The scheduler's state", body = MinerSchedulerDiag)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/scheduler")]
pub async fn get_miner_scheduler(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .miner
        .call_raw(&auth.caller, "Filecoin.SealingSchedDiag", json!([false]))
        .await?;
    Ok(lotus_json_uncached(&raw))
}

/// Run the scheduler.
///
/// Has the scheduler try to assign queued tasks to workers now, then answers its state
/// (`Filecoin.SealingSchedDiag` with its scheduling flag).
#[utoipa::path(
    tag = "Miner workers",
    extensions(("x-lotus-methods" = json!(["Filecoin.SealingSchedDiag"]))),
    responses((status = 200, description = "The scheduler's state after the pass", body = MinerSchedulerDiag)),
    security(("lotus_token" = ["admin"]))
)]
#[post("/scheduler/run")]
pub async fn run_miner_scheduler(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .miner
        .call_raw(&auth.caller, "Filecoin.SealingSchedDiag", json!([true]))
        .await?;
    Ok(lotus_json_uncached(&raw))
}

/// Remove a scheduler request.
///
/// Takes a task out of the scheduler's queue by its `SchedId` (`Filecoin.SealingRemoveRequest`); the sector's
/// sealing sees the task fail. 404 when the queue has no such request.
#[utoipa::path(
    tag = "Miner workers",
    extensions(("x-lotus-methods" = json!(["Filecoin.SealingRemoveRequest"]))),
    params(SchedRequestPath),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "No such request", body = crate::error::Problem)),
    security(("lotus_token" = ["admin"]))
)]
#[delete("/scheduler/requests/{id}")]
pub async fn delete_miner_scheduler_request(
    auth: MinerAuthorized<Admin>,
    state: web::Data<AppState>,
    SchedRequestPath { id }: SchedRequestPath,
) -> Result<HttpResponse, ApiError> {
    state
        .miner
        .call_raw(&auth.caller, "Filecoin.SealingRemoveRequest", json!([id]))
        .await
        .map_err(|e| {
            remap(
                e,
                &[
                    ("no request with provided details found", Code::NotFound),
                    ("no requests in the scheduler", Code::NotFound),
                ],
            )
        })?;
    Ok(no_content())
}

/// Registers the miner's worker routes.
pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(list_miner_workers)
        .service(connect_miner_worker)
        .service(get_miner_worker)
        .service(list_miner_jobs)
        .scope("/jobs/{id}", &|cfg| {
            cfg.service(get_miner_job).service(delete_miner_job);
        })
        .service(get_miner_scheduler)
        .service(run_miner_scheduler)
        .service(delete_miner_scheduler_request);
}
