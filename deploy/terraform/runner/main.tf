# The in-VPC runner: the suite as Fargate tasks in the production VPC, the drill on a schedule
# and health after every completed production deployment, evidence to a versioned S3 bucket.
# Roles hold exactly the suite's policy files (policies/*.json), read with file().

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  policies = "${path.module}/../../../policies"
  account  = data.aws_caller_identity.current.account_id
  modes = {
    health = { files = ["health"], command = ["-m", "health"] }
    drill  = { files = concat(["health", "drill"], var.drill_optional_policies), command = ["-m", "drill"] }
  }
  environment = merge(
    {
      TURATH_TARGET                 = "aws"
      AWS_REGION                    = data.aws_region.current.name
      AWS_DEFAULT_REGION            = data.aws_region.current.name
      TURATH_EVIDENCE_BUCKET        = aws_s3_bucket.evidence.bucket
      TURATH_DRILL_ALLOWED_ACCOUNTS = local.account
    },
    var.environment,
  )
  password_is_secret = can(regex(":secretsmanager:", var.db_password_arn))
}

# ---- evidence ------------------------------------------------------------------------------

resource "aws_s3_bucket" "evidence" {
  bucket_prefix = "${var.name}-evidence-"
}

resource "aws_s3_bucket_versioning" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "evidence" {
  bucket                  = aws_s3_bucket.evidence.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  rule {
    id     = "expire-old-evidence"
    status = "Enabled"
    filter {}
    expiration {
      days = var.evidence_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.evidence_retention_days
    }
  }
}

# ---- roles -------------------------------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "task" {
  for_each           = local.modes
  name               = "${var.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

locals {
  role_policies = merge([
    for mode, m in local.modes : { for f in m.files : "${mode}/${f}" => { mode = mode, file = f } }
  ]...)
}

resource "aws_iam_role_policy" "suite" {
  for_each = local.role_policies
  name     = each.value.file
  role     = aws_iam_role.task[each.value.mode].id
  policy   = file("${local.policies}/${each.value.file}.json")
}

data "aws_iam_policy_document" "evidence_write" {
  statement {
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.evidence.arn}/*"]
  }
}

resource "aws_iam_role_policy" "evidence" {
  for_each = local.modes
  name     = "evidence"
  role     = aws_iam_role.task[each.key].id
  policy   = data.aws_iam_policy_document.evidence_write.json
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "read_password" {
  statement {
    actions   = local.password_is_secret ? ["secretsmanager:GetSecretValue"] : ["ssm:GetParameters"]
    resources = [var.db_password_arn]
  }
}

resource "aws_iam_role_policy" "read_password" {
  name   = "db-password"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.read_password.json
}

# ---- tasks -------------------------------------------------------------------------------

resource "aws_ecs_cluster" "runner" {
  name = var.name
}

resource "aws_cloudwatch_log_group" "runner" {
  name              = "/${var.name}/runner"
  retention_in_days = 90
}

resource "aws_ecs_task_definition" "suite" {
  for_each                 = local.modes
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  task_role_arn            = aws_iam_role.task[each.key].arn
  execution_role_arn       = aws_iam_role.execution.arn
  container_definitions = jsonencode([{
    name        = "suite"
    image       = var.image
    essential   = true
    command     = each.value.command
    environment = [for k, v in local.environment : { name = k, value = v }]
    secrets     = [{ name = "TURATH_DB_PASSWORD", valueFrom = var.db_password_arn }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.runner.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = each.key
      }
    }
  }])
}

# ---- triggers ----------------------------------------------------------------------------

data "aws_iam_policy_document" "trigger_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com", "events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "trigger" {
  name               = "${var.name}-trigger"
  assume_role_policy = data.aws_iam_policy_document.trigger_trust.json
}

data "aws_iam_policy_document" "trigger" {
  statement {
    actions   = ["ecs:RunTask"]
    resources = [for td in aws_ecs_task_definition.suite : "${td.arn_without_revision}:*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.runner.arn]
    }
  }
  statement {
    actions   = ["iam:PassRole"]
    resources = concat([for r in aws_iam_role.task : r.arn], [aws_iam_role.execution.arn])
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "trigger" {
  name   = "run-suite-tasks"
  role   = aws_iam_role.trigger.id
  policy = data.aws_iam_policy_document.trigger.json
}

# The drill, monthly by default (one at a time: the suite's own lock refuses a second).
resource "aws_scheduler_schedule" "drill" {
  name                         = "${var.name}-drill"
  schedule_expression          = var.drill_schedule
  schedule_expression_timezone = "UTC"
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = aws_ecs_cluster.runner.arn
    role_arn = aws_iam_role.trigger.arn
    ecs_parameters {
      task_definition_arn = aws_ecs_task_definition.suite["drill"].arn
      launch_type         = "FARGATE"
      network_configuration {
        subnets          = var.subnet_ids
        security_groups  = var.security_group_ids
        assign_public_ip = false
      }
    }
    retry_policy {
      maximum_retry_attempts = 0
    }
  }
}

# Health after every completed production deployment.
resource "aws_cloudwatch_event_rule" "deployed" {
  name        = "${var.name}-health-after-deployment"
  description = "Run pytest -m health when a production ECS deployment completes"
  event_pattern = jsonencode({
    source        = ["aws.ecs"]
    "detail-type" = ["ECS Deployment State Change"]
    resources     = var.watched_service_arns
    detail        = { eventName = ["SERVICE_DEPLOYMENT_COMPLETED"] }
  })
}

resource "aws_cloudwatch_event_target" "health" {
  rule     = aws_cloudwatch_event_rule.deployed.name
  arn      = aws_ecs_cluster.runner.arn
  role_arn = aws_iam_role.trigger.arn
  ecs_target {
    task_definition_arn = aws_ecs_task_definition.suite["health"].arn
    launch_type         = "FARGATE"
    network_configuration {
      subnets          = var.subnet_ids
      security_groups  = var.security_group_ids
      assign_public_ip = false
    }
  }
}
