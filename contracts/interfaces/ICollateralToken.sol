// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";

/// @notice What clients need of the collateral token (USDC): ERC-20 with metadata and EIP-2612 permit (and, where
/// the token has it, EIP-5267 to read its signing domain). Declared so that typed bindings exist for it; the protocol
/// itself only relies on IERC20.
interface ICollateralToken is IERC20, IERC20Metadata, IERC20Permit, IERC5267 {}
