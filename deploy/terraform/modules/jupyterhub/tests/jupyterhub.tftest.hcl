mock_provider "aws" {
  # The mock would return random text; IAM resources validate that policies are JSON.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  override_data {
    target = data.aws_caller_identity.current
    values = {
      account_id = "123456789012"
    }
  }

  override_data {
    target = data.aws_region.current
    values = {
      name = "eu-west-1"
    }
  }

  override_data {
    target = data.aws_partition.current
    values = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }

  override_data {
    target = data.aws_ssm_parameter.ami
    values = {
      insecure_value = "ami-0123456789abcdef0"
    }
  }
}

# Known ARNs at plan time, so resources that validate ARNs accept them.
override_resource {
  target          = aws_lb.this
  override_during = plan
  values = {
    arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/mlplatform-test-hub/0123456789abcdef"
    arn_suffix = "app/mlplatform-test-hub/0123456789abcdef"
    dns_name   = "mlplatform-test-hub-123.eu-west-1.elb.amazonaws.com"
  }
}

override_resource {
  target          = aws_lb_target_group.this
  override_during = plan
  values = {
    arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/mlplatform-test-hub/0123456789abcdef"
    arn_suffix = "targetgroup/mlplatform-test-hub/0123456789abcdef"
  }
}

variables {
  name                         = "mlplatform-test"
  vpc_id                       = "vpc-0a1b2c3d"
  subnet_id                    = "subnet-0a1b2c3d"
  public_subnet_ids            = ["subnet-1a2b3c4d", "subnet-2a3b4c5d"]
  alb_security_group_id        = "sg-0a1b2c3d"
  jupyterhub_security_group_id = "sg-1a2b3c4d"
  certificate_arn              = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
  tags = {
    environment = "test"
  }
}

run "host_is_private_and_hardened" {
  command = plan

  assert {
    condition     = aws_instance.this.instance_type == "t3.medium"
    error_message = "The hub host must default to t3.medium."
  }

  assert {
    condition     = aws_instance.this.associate_public_ip_address == false && aws_instance.this.subnet_id == "subnet-0a1b2c3d"
    error_message = "The hub host must sit in the private subnet without a public IP."
  }

  assert {
    condition     = aws_instance.this.metadata_options[0].http_tokens == "required"
    error_message = "IMDSv2 must be required on the hub host."
  }

  assert {
    condition     = aws_instance.this.root_block_device[0].encrypted && aws_instance.this.root_block_device[0].volume_type == "gp3"
    error_message = "The root volume must be encrypted gp3."
  }

  assert {
    condition     = aws_instance.this.ami == "ami-0123456789abcdef0"
    error_message = "The AMI must come from the SSM parameter by default."
  }

  assert {
    condition     = data.aws_ssm_parameter.ami[0].name == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    error_message = "The default AMI must be Amazon Linux 2023."
  }

  assert {
    condition     = aws_instance.this.vpc_security_group_ids == toset(["sg-1a2b3c4d"])
    error_message = "The hub host must use only the JupyterHub security group."
  }

  assert {
    condition     = !strcontains(aws_instance.this.user_data, "nfs4")
    error_message = "Without efs_file_system_id the user data must not mount EFS."
  }
}

run "load_balancer_terminates_tls_and_redirects" {
  command = plan

  assert {
    condition     = aws_lb.this.internal == false && aws_lb.this.load_balancer_type == "application"
    error_message = "The default load balancer must be an internet-facing ALB."
  }

  assert {
    condition     = aws_lb.this.drop_invalid_header_fields
    error_message = "The ALB must drop invalid header fields."
  }

  assert {
    condition     = aws_lb_listener.https.port == 443 && aws_lb_listener.https.protocol == "HTTPS"
    error_message = "The hub must be served on HTTPS 443."
  }

  assert {
    condition     = aws_lb_listener.https.certificate_arn == var.certificate_arn
    error_message = "The HTTPS listener must use the ACM certificate."
  }

  assert {
    condition     = aws_lb_listener.https.ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    error_message = "The HTTPS listener must use a TLS 1.2+ policy."
  }

  assert {
    condition = (
      aws_lb_listener.http.port == 80 &&
      aws_lb_listener.http.default_action[0].type == "redirect" &&
      aws_lb_listener.http.default_action[0].redirect[0].port == "443" &&
      aws_lb_listener.http.default_action[0].redirect[0].protocol == "HTTPS" &&
      aws_lb_listener.http.default_action[0].redirect[0].status_code == "HTTP_301"
    )
    error_message = "HTTP 80 must redirect permanently to HTTPS 443."
  }

  assert {
    condition     = aws_lb_target_group.this.port == 8888 && aws_lb_target_group.this.health_check[0].path == "/hub/health"
    error_message = "The target group must send traffic to 8888 and check /hub/health."
  }

  assert {
    condition     = aws_lb_target_group_attachment.this.port == 8888
    error_message = "The hub host must be registered on 8888."
  }

  assert {
    condition     = output.hub_url == "https://mlplatform-test-hub-123.eu-west-1.elb.amazonaws.com"
    error_message = "hub_url must be the HTTPS URL of the load balancer when no domain_name is set."
  }

  assert {
    condition     = length(aws_wafv2_web_acl_association.this) == 0 && length(aws_lb.this.access_logs) == 0
    error_message = "WAF and access logs must be off unless configured."
  }
}

run "host_role_can_become_users_only" {
  command = plan

  assert {
    condition     = one([for s in data.aws_iam_policy_document.hub.statement : s.resources if s.sid == "AssumePerUserRoles"]) == toset(["arn:aws:iam::123456789012:role/mlplatform/users/*"])
    error_message = "The host role may assume only roles under /mlplatform/users/."
  }

  assert {
    condition     = contains(one([for s in data.aws_iam_policy_document.hub.statement : s.resources if s.sid == "ReadHubSecrets"]), "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlplatform-test/jupyterhub/*")
    error_message = "The host role must read the hub's own secrets."
  }

  assert {
    condition     = toset(keys(aws_iam_role_policy_attachment.this)) == toset(["AmazonSSMManagedInstanceCore", "CloudWatchAgentServerPolicy"])
    error_message = "The host role needs SSM and the CloudWatch agent policy, nothing broader."
  }
}

run "efs_is_mounted_with_the_platform_options" {
  command = plan

  variables {
    efs_file_system_id = "fs-0a1b2c3d"
    domain_name        = "hub.dataplatform.example"
    alb_internal       = true
  }

  assert {
    condition     = strcontains(aws_instance.this.user_data, "fs-0a1b2c3d.efs.eu-west-1.amazonaws.com:/ /data nfs4 rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,_netdev 0 0")
    error_message = "The user data must add the EFS mount to fstab with the platform's nfs4 options."
  }

  assert {
    condition     = aws_lb.this.internal
    error_message = "alb_internal = true must make the load balancer internal."
  }

  assert {
    condition     = output.hub_url == "https://hub.dataplatform.example"
    error_message = "hub_url must use domain_name when it is set."
  }
}

run "rejects_old_tls_policy" {
  command = plan

  variables {
    ssl_policy = "ELBSecurityPolicy-2016-08"
  }

  expect_failures = [var.ssl_policy]
}

run "rejects_non_acm_certificate" {
  command = plan

  variables {
    certificate_arn = "arn:aws:iam::123456789012:server-certificate/hub"
  }

  expect_failures = [var.certificate_arn]
}

run "rejects_single_alb_subnet" {
  command = plan

  variables {
    public_subnet_ids = ["subnet-1a2b3c4d"]
  }

  expect_failures = [var.public_subnet_ids]
}
