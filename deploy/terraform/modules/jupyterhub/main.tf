data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

data "aws_ssm_parameter" "ami" {
  count = var.ami_id == null ? 1 : 0

  name = var.ami_ssm_parameter
}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  ami_id   = var.ami_id != null ? var.ami_id : data.aws_ssm_parameter.ami[0].insecure_value
  hub_host = coalesce(var.domain_name, aws_lb.this.dns_name)

  user_data = templatefile("${path.module}/templates/user_data.sh.tftpl", {
    efs_file_system_id = var.efs_file_system_id == null ? "" : var.efs_file_system_id
    efs_mount_point    = var.efs_mount_point
    efs_mount_options  = var.efs_mount_options
    region             = local.region
    dns_suffix         = data.aws_partition.current.dns_suffix
  })
}

################################################################################
# Hub host: private subnet, no public IP, IMDSv2, encrypted root volume
################################################################################

resource "aws_instance" "this" {
  ami                         = local.ami_id
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [var.jupyterhub_security_group_id]
  associate_public_ip_address = false
  iam_instance_profile        = aws_iam_instance_profile.this.name

  ebs_optimized           = true
  monitoring              = true
  disable_api_termination = var.enable_termination_protection

  user_data                   = local.user_data
  user_data_replace_on_change = false

  # Hop limit 1: only processes on the host itself reach IMDS, not containers behind a bridge.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    encrypted             = true
    kms_key_id            = var.ebs_kms_key_arn
    delete_on_termination = true
    tags                  = merge(var.tags, { Name = "${var.name}-jupyterhub-root" })
  }

  tags = merge(var.tags, { Name = "${var.name}-jupyterhub" })

  lifecycle {
    # A new AMI in the SSM parameter must not replace the hub (and its state) on the next
    # apply. Roll AMIs deliberately: taint or replace the instance in a maintenance window.
    ignore_changes = [ami]
  }
}

################################################################################
# Application load balancer: HTTPS 443 (TLS 1.2+), HTTP 80 redirects to 443
################################################################################

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91: Access logs are optional (alb_access_logs_bucket) because they need a bucket with an ELB log-delivery policy; the prod environment passes one.
  #checkov:skip=CKV2_AWS_76: The web ACL is optional and managed outside this module (waf_web_acl_arn); its owner picks its rule groups, e.g. AWSManagedRulesKnownBadInputsRuleSet for Log4j.
  #checkov:skip=CKV2_AWS_28: A WAF web ACL is optional (waf_web_acl_arn). The security group limits the listener to alb_allowed_cidrs, and JupyterHub authenticates with LDAP and TOTP.
  name               = "${var.name}-hub"
  load_balancer_type = "application"
  internal           = var.alb_internal
  subnets            = var.public_subnet_ids
  security_groups    = [var.alb_security_group_id]

  drop_invalid_header_fields = true
  desync_mitigation_mode     = "defensive"
  enable_deletion_protection = var.enable_alb_deletion_protection
  idle_timeout               = var.alb_idle_timeout

  dynamic "access_logs" {
    for_each = var.alb_access_logs_bucket == null ? [] : [var.alb_access_logs_bucket]
    content {
      bucket  = access_logs.value
      prefix  = var.alb_access_logs_prefix
      enabled = true
    }
  }

  tags = var.tags
}

resource "aws_wafv2_web_acl_association" "this" {
  count = var.waf_web_acl_arn == null ? 0 : 1

  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.waf_web_acl_arn
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378: TLS ends at the ALB. The hop to the hub on 8888 stays inside the private subnet, and only the ALB's security group may reach that port.
  name                 = "${var.name}-hub"
  port                 = var.jupyterhub_port
  protocol             = "HTTP"
  target_type          = "instance"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled             = true
    protocol            = "HTTP"
    port                = "traffic-port"
    path                = var.health_check_path
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_target_group_attachment" "this" {
  target_group_arn = aws_lb_target_group.this.arn
  target_id        = aws_instance.this.id
  port             = var.jupyterhub_port
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = var.tags
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}
